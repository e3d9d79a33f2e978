package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/riskmesh/riskmesh/internal/ecsig"
)

// A key pair lives in two files (private key, public key or certificate)
// that cannot be replaced by one rename. A rotation therefore writes both
// new files beside the old ones with pendingSuffix, renames the public file
// first (the commit point) and the private one second. Load finishes or
// discards an interrupted rotation (recoverPair): a pending private key
// that matches the public file in place is renamed in, anything else
// pending is removed. Rotations of one directory must not run concurrently.
const pendingSuffix = ".new"

// RotateSigningKey replaces the transcript-signing key and returns the new
// public key, PKIX DER. Transcripts signed with the old key stay verifiable
// against the ledger's record of it; the node registers the new key before
// signing with it.
func RotateSigningKey(dir string, rand io.Reader) ([]byte, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	if err := recoverPairs(dir); err != nil {
		return nil, err
	}
	if _, err := readPrivateKey(dir, SigningKeyFile); err != nil {
		return nil, fmt.Errorf("identity: rotate signing key: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return nil, fmt.Errorf("identity: generate signing key: %w", err)
	}
	keyPEM, err := marshalPrivateKey(key)
	if err != nil {
		return nil, err
	}
	pub, err := ecsig.MarshalPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := replacePair(dir, SigningKeyFile, keyPEM, SigningPubFile, encodePEM(pemPublicKey, pub)); err != nil {
		return nil, fmt.Errorf("identity: rotate signing key: %w", err)
	}
	return pub, nil
}

// RotateTLSCertificate replaces the TLS key and certificate with a new
// self-signed pair for the same MSP id and host names, and returns the new
// certificate, DER. Its fingerprint differs: peers admit the node with it
// once the registry lists it.
func RotateTLSCertificate(dir string, rand io.Reader) ([]byte, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	if err := recoverPairs(dir); err != nil {
		return nil, err
	}
	pub, err := readPublic(dir)
	if err != nil {
		return nil, fmt.Errorf("identity: rotate TLS certificate: %w", err)
	}
	old := pub.tls.Leaf
	var hosts []string
	for _, n := range old.DNSNames {
		if n != "localhost" {
			hosts = append(hosts, n)
		}
	}
	for _, ip := range old.IPAddresses {
		if !ip.Equal(net.IPv4(127, 0, 0, 1)) && !ip.Equal(net.IPv6loopback) {
			hosts = append(hosts, ip.String())
		}
	}
	der, certPEM, keyPEM, err := newTLSCertificate(old.Subject.CommonName, hosts, rand)
	if err != nil {
		return nil, err
	}
	if err := replacePair(dir, TLSKeyFile, keyPEM, TLSCertFile, certPEM); err != nil {
		return nil, fmt.Errorf("identity: rotate TLS certificate: %w", err)
	}
	return der, nil
}

// replacePair installs a new private/public pair in the order recoverPair
// relies on.
func replacePair(dir, privName string, priv []byte, pubName string, pub []byte) error {
	if err := writeFile(dir, privName+pendingSuffix, priv, privateMode); err != nil {
		return err
	}
	if err := writeFile(dir, pubName+pendingSuffix, pub, publicMode); err != nil {
		os.Remove(filepath.Join(dir, privName+pendingSuffix))
		return err
	}
	if err := os.Rename(filepath.Join(dir, pubName+pendingSuffix), filepath.Join(dir, pubName)); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(dir, privName+pendingSuffix), filepath.Join(dir, privName)); err != nil {
		return err
	}
	return syncDir(dir)
}

// recoverPairs finishes or discards interrupted rotations of both pairs.
func recoverPairs(dir string) error {
	if err := recoverPair(dir, SigningKeyFile, SigningPubFile, func() (*ecdsa.PublicKey, error) {
		p, err := readPublic(dir)
		return p.signingKey, err
	}); err != nil {
		return err
	}
	return recoverPair(dir, TLSKeyFile, TLSCertFile, func() (*ecdsa.PublicKey, error) {
		p, err := readPublic(dir)
		if err != nil {
			return nil, err
		}
		return p.tls.Leaf.PublicKey.(*ecdsa.PublicKey), nil
	})
}

// recoverPair renames a pending private key in when the public file in
// place is its public half (the rotation passed its commit point), and
// removes pending files otherwise.
func recoverPair(dir, privName, pubName string, public func() (*ecdsa.PublicKey, error)) error {
	pending := filepath.Join(dir, privName+pendingSuffix)
	defer os.Remove(filepath.Join(dir, pubName+pendingSuffix))
	data, err := readFile(dir, privName+pendingSuffix, true)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("identity: interrupted rotation: %w", err)
	}
	key, err := ParsePrivateKey(data)
	if err != nil {
		// Cannot happen for a file written by replacePair; a stray file
		// is not ours to judge, so it is left for the operator.
		return fmt.Errorf("identity: interrupted rotation: %s: %w", pending, err)
	}
	pub, err := public()
	if err != nil {
		return err
	}
	if !pub.Equal(&key.PublicKey) {
		if err := os.Remove(pending); err != nil {
			return fmt.Errorf("identity: discard interrupted rotation: %w", err)
		}
		return nil
	}
	if err := os.Rename(pending, filepath.Join(dir, privName)); err != nil {
		return fmt.Errorf("identity: finish interrupted rotation: %w", err)
	}
	return syncDir(dir)
}
