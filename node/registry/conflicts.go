package registry

import (
	"slices"
	"strings"

	"github.com/riskmesh/riskmesh/accounting"
)

// Credential kinds a Conflict names.
const (
	CredentialTLS     = "tls_fingerprint"
	CredentialSigning = "signing_key"
	CredentialOPRF    = "oprf_key"
)

// Conflict is one credential that more than one institution's record
// holds. The contract refuses that (chaincode/owners.go), but a ledger
// written before its owner index, or a ledger this node should not trust
// blindly, may still show it. A view never lets one of the claimants win,
// which would hand the other's certificate or keys to it: neither is
// trusted with the credential. A shared TLS fingerprint authenticates no
// one (Authorize returns ErrAmbiguous); a shared signing or OPRF key is
// taken from every record that holds it, so no signature or proof checks
// against it and no provider is offered under it.
type Conflict struct {
	// Kind is CredentialTLS, CredentialSigning or CredentialOPRF.
	Kind string
	// MSPIDs are the claimants, sorted.
	MSPIDs []string
}

// claimants maps one credential to the institutions holding it.
type claimants map[string][]string

func (c claimants) add(cred []byte, msp string) {
	if len(cred) > 0 && !slices.Contains(c[string(cred)], msp) {
		c[string(cred)] = append(c[string(cred)], msp)
	}
}

// shared returns the credentials of c held by more than one institution.
func (c claimants) shared() map[string]bool {
	out := map[string]bool{}
	for cred, msps := range c {
		if len(msps) > 1 {
			out[cred] = true
		}
	}
	return out
}

// conflicts lists c's shared credentials as Conflicts of kind.
func (c claimants) conflicts(kind string) []Conflict {
	var out []Conflict
	for _, msps := range c {
		if len(msps) > 1 {
			out = append(out, Conflict{Kind: kind, MSPIDs: slices.Sorted(slices.Values(msps))})
		}
	}
	return out
}

// resolveShared finds the credentials more than one of insts holds, takes
// the shared signing and OPRF keys from every record holding them (in
// place: newView owns insts) and returns the shared TLS fingerprints and
// every conflict, sorted.
func resolveShared(insts []accounting.Institution) (sharedTLS map[string]bool, conflicts []Conflict) {
	tls, sig, oprf := claimants{}, claimants{}, claimants{}
	for _, inst := range insts {
		tls.add(inst.TLSFingerprint, inst.MSPID)
		sig.add(inst.SigningKey, inst.MSPID)
		for _, past := range inst.PastSigningKeys {
			sig.add(past.Key, inst.MSPID)
		}
		for _, key := range inst.OPRFKeys {
			oprf.add(key, inst.MSPID)
		}
	}
	conflicts = append(append(tls.conflicts(CredentialTLS), sig.conflicts(CredentialSigning)...), oprf.conflicts(CredentialOPRF)...)
	slices.SortFunc(conflicts, func(a, b Conflict) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return slices.Compare(a.MSPIDs, b.MSPIDs)
	})
	sharedSig, sharedOPRF := sig.shared(), oprf.shared()
	if len(sharedSig)+len(sharedOPRF) > 0 {
		for i := range insts {
			withoutShared(&insts[i], sharedSig, sharedOPRF)
		}
	}
	return tls.shared(), conflicts
}

// withoutShared removes the shared signing and OPRF keys from inst.
func withoutShared(inst *accounting.Institution, sharedSig, sharedOPRF map[string]bool) {
	if sharedSig[string(inst.SigningKey)] {
		inst.SigningKey = nil
	}
	inst.PastSigningKeys = slices.DeleteFunc(slices.Clone(inst.PastSigningKeys), func(k accounting.KeyVersion) bool {
		return sharedSig[string(k.Key)]
	})
	for cat, key := range inst.OPRFKeys {
		if sharedOPRF[string(key)] {
			delete(inst.OPRFKeys, cat)
		}
	}
}

func sameConflict(a, b Conflict) bool { return a.Kind == b.Kind && slices.Equal(a.MSPIDs, b.MSPIDs) }
