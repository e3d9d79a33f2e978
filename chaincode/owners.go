package chaincode

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
)

// A credential (TLS certificate fingerprint, transcript-signing key, OPRF
// key) identifies exactly one institution. Nodes map a peer's certificate
// to an MSP id by its fingerprint, and check signatures and proofs against
// the keys on the signer's record; if two records could hold one
// credential, the second registrant would take over the first one's
// certificate (every node authenticating it as the second MSP id, and
// suspending the second locking the first out) or present the first one's
// keys as its own.
//
// The contract therefore keeps an owner index, owner/<kind>/<id> -> MSP id,
// and every write of an institution's record claims each credential the
// record holds. A claim is one point read of one index key (and a write if
// the key is new), so two transactions claiming the same credential read and
// write the same key and Fabric's MVCC check lets only one commit. An entry
// is never released: a credential that once identified an institution never
// identifies another, not even after it was rotated away, so nothing
// presented or signed under it can be attributed to someone else.
//
// Ledgers created before the index hold records whose credentials are not
// yet claimed; the next write of each record claims them (docs/ledger.md,
// "Credential owners").

// credentialKind names the index an owner entry belongs to.
type credentialKind string

const (
	credentialTLS     credentialKind = "tls"
	credentialSigning credentialKind = "sig"
	credentialOPRF    credentialKind = "oprf"
)

// what names the credential in an error message.
func (k credentialKind) what() string {
	switch k {
	case credentialTLS:
		return "TLS certificate fingerprint"
	case credentialSigning:
		return "signing key"
	default:
		return "OPRF key"
	}
}

// credentialOwner is the value of an owner entry.
type credentialOwner struct {
	MSPID string `json:"mspId"`
}

// credentialID is the 32 bytes an owner key is made of: the fingerprint or
// OPRF key itself, or the SHA-256 of a signing key's PKIX DER. The DER of
// a P-256 key is unique (ecsig accepts only the uncompressed point under
// the named-curve OID, in strict DER), so one key cannot be claimed twice
// under two encodings.
func credentialID(kind credentialKind, cred []byte) [32]byte {
	if kind == credentialSigning || len(cred) != 32 {
		return sha256.Sum256(cred)
	}
	return [32]byte(cred)
}

// claim records msp as the owner of cred, or fails with CodeConflict if
// another institution owns it.
func claim(st State, kind credentialKind, cred []byte, msp string) error {
	key := ownerKey(kind, credentialID(kind, cred))
	var o credentialOwner
	ok, err := getJSON(st, key, &o)
	switch {
	case err != nil:
		return err
	case !ok:
		return putJSON(st, key, &credentialOwner{MSPID: msp})
	case o.MSPID != msp:
		return newError(CodeConflict, fmt.Sprintf("this %s is registered to another institution", kind.what()))
	}
	return nil
}

// claimAll claims every credential inst holds: its TLS fingerprint, its
// current and replaced signing keys and its OPRF keys (by category, so
// every endorser reads and writes in the same order). A conflict does not
// stop it: it claims the rest and returns the first conflict at the end,
// which a caller may ignore (see setStatus).
func claimAll(st State, inst *Institution) error {
	var conflict error
	try := func(kind credentialKind, cred []byte) error {
		if len(cred) == 0 {
			return nil
		}
		err := claim(st, kind, cred, inst.MSPID)
		if CodeOf(err) == CodeConflict {
			if conflict == nil {
				conflict = err
			}
			return nil
		}
		return err
	}
	if err := try(credentialTLS, inst.TLSFingerprint); err != nil {
		return err
	}
	if err := try(credentialSigning, inst.SigningKey); err != nil {
		return err
	}
	for _, past := range inst.PastSigningKeys {
		if err := try(credentialSigning, past.Key); err != nil {
			return err
		}
	}
	for _, cat := range slices.Sorted(maps.Keys(inst.OPRFKeys)) {
		if err := try(credentialOPRF, inst.OPRFKeys[cat]); err != nil {
			return err
		}
	}
	return conflict
}
