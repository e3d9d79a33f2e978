package identity

import (
	"fmt"
)

// Storage says where a key lives.
type Storage uint8

const (
	// InFile keeps the key in the identity directory (the default).
	InFile Storage = iota
	// InToken keeps the key in the PKCS#11 token: the TLS and signing
	// keys are generated there and never leave it; an OPRF key is kept
	// in its file wrapped by an AES-256 key generated in the token, and
	// unwrapped only into the node's memory (docs/operations.md says why:
	// PKCS#11 has no ristretto255 scalar multiplication).
	InToken
)

// String returns the name node.yaml uses: "file" or "hsm".
func (s Storage) String() string {
	if s == InToken {
		return "hsm"
	}
	return "file"
}

// Placement says where new keys go, per key. The zero value keeps every
// key in files. Keys already made stay where they are until rotated: a
// rotation makes the new key where Placement says, which is how a key
// moves into a token (docs/operations.md).
type Placement struct {
	Signing, TLS, OPRF Storage
}

// Keystore is an identity directory with, optionally, the PKCS#11 token
// that holds some of its keys. The package-level functions (Load,
// Generate, the rotations) are a Keystore with only Dir set.
type Keystore struct {
	// Dir is the identity directory. Required.
	Dir string
	// Token holds the keys the directory refers to; nil when no key is in
	// a token (a key that is then refuses to load, ErrToken).
	Token *Token
	// Place says where Generate, AddOPRFKey and the rotations put new
	// keys. A key placed InToken needs Token.
	Place Placement
}

// Token object labels. Each names the institution, so one token can hold
// several identities, and the role, so DiscardRetired finds the replaced
// key pairs of one role.
func signingLabel(mspID string) string { return "riskmesh/" + mspID + "/signing" }
func tlsLabel(mspID string) string     { return "riskmesh/" + mspID + "/tls" }
func wrapLabel(mspID string) string    { return "riskmesh/" + mspID + "/oprf-wrap" }

// token returns the token for a key placed InToken.
func (k Keystore) token(what string) (*Token, error) {
	if k.Token == nil {
		return nil, fmt.Errorf("%w: the %s key is placed in a PKCS#11 token and none is open", ErrToken, what)
	}
	return k.Token, nil
}

// DiscardRetired destroys the token key pairs a rotation replaced (the TLS
// and signing keys of this identity that the directory no longer refers
// to). A rotation leaves the replaced key pair in the token, so the node
// keeps signing and shaking hands with it until the ledger has the new
// key; the daemon calls DiscardRetired after that. It does nothing without
// a token.
func (k Keystore) DiscardRetired() error {
	if k.Token == nil {
		return nil
	}
	pub, err := readPublic(k.Dir)
	if err != nil {
		return err
	}
	msp := pub.tls.Leaf.Subject.CommonName
	for _, r := range []struct{ label, file string }{
		{signingLabel(msp), SigningKeyFile},
		{tlsLabel(msp), TLSKeyFile},
	} {
		p, err := readPrivate(k.Dir, r.file)
		if err != nil {
			return err
		}
		var keep []byte
		if p.ref != nil {
			keep = p.ref.id
		}
		if err := k.Token.discardKeyPairs(r.label, keep); err != nil {
			return err
		}
	}
	return nil
}
