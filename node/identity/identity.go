package identity

import (
	"crypto/ecdsa"
	cryptorand "crypto/rand"
	"crypto/tls"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// Identity is an institution's loaded key material.
type Identity struct {
	// MSPID is the institution's MSP id, read from the certificate subject.
	MSPID string
	// Certificate is the TLS certificate and key for the peer transport
	// (Leaf is set).
	Certificate tls.Certificate
	// Fingerprint is the SHA-256 of the certificate, as the registry pins it.
	Fingerprint peer.Fingerprint
	// Sign signs transcript digests with the signing key.
	Sign ecsig.Sign
	// SigningKey is the signing public key, PKIX DER, as the registry
	// stores it.
	SigningKey []byte

	oprfKeys     map[string]*oprf.PrivateKey
	previousKeys map[string]*oprf.PrivateKey
	plainOPRF    []string // categories whose current key is a plain file
}

// OPRFKey returns the OPRF private key for category.
func (id *Identity) OPRFKey(category string) (*oprf.PrivateKey, bool) {
	k, ok := id.oprfKeys[category]
	return k, ok
}

// OPRFKeys returns the OPRF private keys by category (a copy of the map; the
// keys are shared).
func (id *Identity) OPRFKeys() map[string]*oprf.PrivateKey { return maps.Clone(id.oprfKeys) }

// PlainOPRFKeys returns, sorted, the categories whose current OPRF key
// Load read from a plain file rather than one wrapped by a token key:
// whoever copies the identity directory holds those keys.
func (id *Identity) PlainOPRFKeys() []string { return slices.Clone(id.plainOPRF) }

// PreviousOPRFKeys returns, by category, the OPRF private key the last
// RotateOPRFKey replaced (a copy of the map; the keys are shared). The
// catalogs published before that rotation were built under it, and the
// node answers their periods' requests with it (node/provider's
// Config.PreviousKeys).
func (id *Identity) PreviousOPRFKeys() map[string]*oprf.PrivateKey {
	return maps.Clone(id.previousKeys)
}

// Load reads the identity in dir, whose keys are all files; see
// Keystore.Load.
func Load(dir string) (*Identity, error) { return Keystore{Dir: dir}.Load() }

// Load reads the identity. It checks that each key file is private to its
// owner, that the TLS certificate and key are a pair and that signing.pub
// is the signing key's public half, so a directory assembled from two
// identities is refused; a key in the token must be there under the
// CKA_ID its reference names, with the public half the directory has
// (ErrKeyMissing otherwise: the node refuses to start). It first finishes
// or discards a key rotation a crash interrupted. File signatures draw
// randomness from crypto/rand, token signatures from the token.
func (k Keystore) Load() (*Identity, error) {
	id, err := k.load()
	if err != nil {
		return nil, fmt.Errorf("load identity %s: %w", k.Dir, err)
	}
	return id, nil
}

func (k Keystore) load() (*Identity, error) {
	dir := k.Dir
	if err := recoverPairs(dir); err != nil {
		return nil, err
	}
	if err := k.recoverOPRFKeys(); err != nil {
		return nil, err
	}
	cert, err := readPublic(dir)
	if err != nil {
		return nil, err
	}
	tlsKey, err := readPrivate(dir, TLSKeyFile)
	if err != nil {
		return nil, err
	}
	if !cert.tls.Leaf.PublicKey.(*ecdsa.PublicKey).Equal(tlsKey.public()) {
		return nil, fmt.Errorf("%w: %s is not the key of %s", ErrMismatch, TLSKeyFile, TLSCertFile)
	}
	if cert.tls.PrivateKey, err = tlsKey.signer(k.Token); err != nil {
		return nil, fmt.Errorf("%s: %w", TLSKeyFile, err)
	}

	signKey, err := readPrivate(dir, SigningKeyFile)
	if err != nil {
		return nil, err
	}
	if !cert.signingKey.Equal(signKey.public()) {
		return nil, fmt.Errorf("%w: %s is not the public half of %s", ErrMismatch, SigningPubFile, SigningKeyFile)
	}
	sign := ecsig.NewSigner(signKey.key, cryptorand.Reader)
	if signKey.ref != nil {
		s, err := signKey.signer(k.Token)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", SigningKeyFile, err)
		}
		sign = ecsig.FromSigner(s)
	}

	keys, plain, err := k.readOPRFKeys(oprfKeySuffix)
	if err != nil {
		return nil, err
	}
	previous, _, err := k.readOPRFKeys(oprfKeySuffix + previousSuffix)
	if err != nil {
		return nil, err
	}
	return &Identity{
		MSPID:        cert.tls.Leaf.Subject.CommonName,
		Certificate:  cert.tls,
		Fingerprint:  peer.FingerprintOf(cert.tls.Leaf.Raw),
		Sign:         sign,
		SigningKey:   cert.signingDER,
		oprfKeys:     keys,
		previousKeys: previous,
		plainOPRF:    plain,
	}, nil
}

// readOPRFKeys reads every "oprf-<category>"+suffix file in dir, by
// category, and lists the categories whose file is plain, sorted.
func (k Keystore) readOPRFKeys(suffix string) (map[string]*oprf.PrivateKey, []string, error) {
	cats, err := oprfFiles(k.Dir, suffix)
	if err != nil {
		return nil, nil, err
	}
	keys := make(map[string]*oprf.PrivateKey, len(cats))
	var plain []string
	for _, c := range cats {
		key, isPlain, err := k.readOPRFKey(c, suffix)
		if err != nil {
			return nil, nil, err
		}
		keys[c] = key
		if isPlain {
			plain = append(plain, c)
		}
	}
	slices.Sort(plain)
	return keys, plain, nil
}

// readOPRFKey reads category's key from the file "oprf-<category>"+suffix,
// unwrapping it in the token if it is wrapped; plain reports a key that
// was not.
func (k Keystore) readOPRFKey(category, suffix string) (key *oprf.PrivateKey, plain bool, err error) {
	name := oprfKeyPrefix + category + suffix
	path := filepath.Join(k.Dir, name)
	data, err := readFile(k.Dir, name, true)
	if err != nil {
		return nil, false, err
	}
	if pemType(data) != pemWrappedOPRFKey {
		key, err := ParseOPRFKey(data)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return key, true, nil
	}
	raw, err := decodePEM(data, pemWrappedOPRFKey)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	if k.Token == nil {
		return nil, false, fmt.Errorf("%s: %w: the key is wrapped by a PKCS#11 token key and no token is configured (node.yaml hsm section)", path, ErrToken)
	}
	if key, err = k.Token.unwrapOPRFKey(raw, category); err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	return key, false, nil
}

// public is what the public files of an identity hold.
type public struct {
	tls        tls.Certificate // without the private key
	signingKey *ecdsa.PublicKey
	signingDER []byte
}

// readPublic reads tls.crt and signing.pub.
func readPublic(dir string) (public, error) {
	data, err := readFile(dir, TLSCertFile, false)
	if err != nil {
		return public{}, err
	}
	leaf, err := ParseCertificate(data)
	if err != nil {
		return public{}, fmt.Errorf("%s: %w", filepath.Join(dir, TLSCertFile), err)
	}
	data, err = readFile(dir, SigningPubFile, false)
	if err != nil {
		return public{}, err
	}
	key, der, err := ParsePublicKey(data)
	if err != nil {
		return public{}, fmt.Errorf("%s: %w", filepath.Join(dir, SigningPubFile), err)
	}
	return public{
		tls:        tls.Certificate{Certificate: [][]byte{leaf.Raw}, Leaf: leaf},
		signingKey: key,
		signingDER: der,
	}, nil
}

// readPrivate reads a private key file of either kind (a key or a token
// reference) without opening the token.
func readPrivate(dir, name string) (privateFile, error) {
	data, err := readFile(dir, name, true)
	if err != nil {
		return privateFile{}, err
	}
	p, err := parsePrivateFile(data)
	if err != nil {
		return privateFile{}, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
	}
	return p, nil
}
