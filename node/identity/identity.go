package identity

import (
	"crypto/ecdsa"
	cryptorand "crypto/rand"
	"crypto/tls"
	"fmt"
	"maps"
	"path/filepath"

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
}

// OPRFKey returns the OPRF private key for category.
func (id *Identity) OPRFKey(category string) (*oprf.PrivateKey, bool) {
	k, ok := id.oprfKeys[category]
	return k, ok
}

// OPRFKeys returns the OPRF private keys by category (a copy of the map; the
// keys are shared).
func (id *Identity) OPRFKeys() map[string]*oprf.PrivateKey { return maps.Clone(id.oprfKeys) }

// PreviousOPRFKeys returns, by category, the OPRF private key the last
// RotateOPRFKey replaced (a copy of the map; the keys are shared). The
// catalogs published before that rotation were built under it, and the
// node answers their periods' requests with it (node/provider's
// Config.PreviousKeys).
func (id *Identity) PreviousOPRFKeys() map[string]*oprf.PrivateKey {
	return maps.Clone(id.previousKeys)
}

// Load reads the identity in dir. It checks that each key file is private
// to its owner, that the TLS certificate and key are a pair and that
// signing.pub is the signing key's public half, so a directory assembled
// from two identities is refused. It first finishes or discards a key
// rotation a crash interrupted. Signatures draw randomness from
// crypto/rand.
func Load(dir string) (*Identity, error) {
	id, err := load(dir)
	if err != nil {
		return nil, fmt.Errorf("load identity %s: %w", dir, err)
	}
	return id, nil
}

func load(dir string) (*Identity, error) {
	if err := recoverPairs(dir); err != nil {
		return nil, err
	}
	if err := recoverOPRFKeys(dir); err != nil {
		return nil, err
	}
	cert, err := readPublic(dir)
	if err != nil {
		return nil, err
	}
	tlsKey, err := readPrivateKey(dir, TLSKeyFile)
	if err != nil {
		return nil, err
	}
	if !cert.tls.Leaf.PublicKey.(*ecdsa.PublicKey).Equal(&tlsKey.PublicKey) {
		return nil, fmt.Errorf("%w: %s is not the key of %s", ErrMismatch, TLSKeyFile, TLSCertFile)
	}
	cert.tls.PrivateKey = tlsKey

	signKey, err := readPrivateKey(dir, SigningKeyFile)
	if err != nil {
		return nil, err
	}
	if !cert.signingKey.Equal(&signKey.PublicKey) {
		return nil, fmt.Errorf("%w: %s is not the public half of %s", ErrMismatch, SigningPubFile, SigningKeyFile)
	}

	keys, err := readOPRFKeys(dir, oprfKeySuffix)
	if err != nil {
		return nil, err
	}
	previous, err := readOPRFKeys(dir, oprfKeySuffix+previousSuffix)
	if err != nil {
		return nil, err
	}
	return &Identity{
		MSPID:        cert.tls.Leaf.Subject.CommonName,
		Certificate:  cert.tls,
		Fingerprint:  peer.FingerprintOf(cert.tls.Leaf.Raw),
		Sign:         ecsig.NewSigner(signKey, cryptorand.Reader),
		SigningKey:   cert.signingDER,
		oprfKeys:     keys,
		previousKeys: previous,
	}, nil
}

// readOPRFKeys reads every "oprf-<category>"+suffix file in dir, by
// category.
func readOPRFKeys(dir, suffix string) (map[string]*oprf.PrivateKey, error) {
	cats, err := oprfFiles(dir, suffix)
	if err != nil {
		return nil, err
	}
	keys := make(map[string]*oprf.PrivateKey, len(cats))
	for _, c := range cats {
		k, err := readOPRFKey(dir, oprfKeyPrefix+c+suffix)
		if err != nil {
			return nil, err
		}
		keys[c] = k
	}
	return keys, nil
}

func readOPRFKey(dir, name string) (*oprf.PrivateKey, error) {
	data, err := readFile(dir, name, true)
	if err != nil {
		return nil, err
	}
	k, err := ParseOPRFKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
	}
	return k, nil
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

func readPrivateKey(dir, name string) (*ecdsa.PrivateKey, error) {
	data, err := readFile(dir, name, true)
	if err != nil {
		return nil, err
	}
	key, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
	}
	return key, nil
}
