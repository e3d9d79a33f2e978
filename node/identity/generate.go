package identity

import (
	"crypto/ecdsa"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// CertValidity is how long a generated TLS certificate is valid. The
// certificate is pinned by fingerprint, not chained to a CA, so its expiry
// only forces a rotation (new certificate, new fingerprint on the ledger)
// at a time the institution chooses well ahead of.
const CertValidity = selfsigned.Validity

// Generate creates a new identity in dir for the institution mspID: a TLS
// certificate and key, a transcript-signing key and an OPRF key for each
// category. The certificate's subject names the MSP id and its alternative
// names are 127.0.0.1, ::1 and localhost plus hosts (IP addresses or DNS
// names where peers reach the node). rand is crypto/rand if nil.
//
// dir is created (0700) if needed. Generate refuses to overwrite an
// existing identity (ErrExists).
func Generate(dir, mspID string, categories []string, rand io.Reader, hosts ...string) error {
	if !names.MSPID(mspID) {
		return fmt.Errorf("%w: %q", ErrMSPID, mspID)
	}
	for i, c := range categories {
		if !validCategory(c) {
			return fmt.Errorf("%w: %q", ErrCategory, c)
		}
		if slices.Contains(categories[:i], c) {
			return fmt.Errorf("%w: %q listed twice", ErrCategory, c)
		}
	}
	for _, h := range hosts {
		if !names.Word(h, 253) {
			return fmt.Errorf("identity: invalid host name %q", h)
		}
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("identity: create %s: %w", dir, err)
	}
	files := identityFiles(categories)
	for _, name := range files {
		_, err := os.Lstat(filepath.Join(dir, name))
		switch {
		case err == nil:
			return fmt.Errorf("%w: %s", ErrExists, filepath.Join(dir, name))
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("identity: %w", err)
		}
	}

	if err := writeIdentity(dir, mspID, categories, rand, hosts); err != nil {
		// Remove what was written, so that fixing the cause and running
		// Generate again does not stop at ErrExists.
		for _, name := range files {
			os.Remove(filepath.Join(dir, name))
		}
		return err
	}
	return nil
}

// identityFiles names the files Generate writes.
func identityFiles(categories []string) []string {
	files := []string{TLSCertFile, TLSKeyFile, SigningKeyFile, SigningPubFile}
	for _, c := range categories {
		files = append(files, OPRFKeyFile(c))
	}
	return files
}

func writeIdentity(dir, mspID string, categories []string, rand io.Reader, hosts []string) error {
	for _, c := range categories {
		if _, err := writeOPRFKey(dir, c, rand); err != nil {
			return err
		}
	}
	signKey, signPub, err := ecsig.GenerateKey(rand)
	if err != nil {
		return fmt.Errorf("identity: generate signing key: %w", err)
	}
	if err := writeSigningKey(dir, signKey, signPub); err != nil {
		return err
	}
	_, certPEM, keyPEM, err := newTLSCertificate(mspID, hosts, rand)
	if err != nil {
		return err
	}
	if err := writeFile(dir, TLSKeyFile, keyPEM, privateMode); err != nil {
		return fmt.Errorf("identity: write TLS key: %w", err)
	}
	// The certificate goes last: an identity is complete once it exists.
	if err := writeFile(dir, TLSCertFile, certPEM, publicMode); err != nil {
		return fmt.Errorf("identity: write TLS certificate: %w", err)
	}
	return nil
}

// newTLSCertificate returns a new TLS certificate for mspID, DER, and the
// certificate and its key PEM-encoded as tls.crt and tls.key hold them.
func newTLSCertificate(mspID string, hosts []string, rand io.Reader) (der, certPEM, keyPEM []byte, err error) {
	cert, err := selfsigned.New(mspID, hosts, rand, time.Now())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("identity: TLS certificate: %w", err)
	}
	certPEM, keyPEM, err = selfsigned.PEM(cert)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("identity: TLS certificate: %w", err)
	}
	return cert.Certificate[0], certPEM, keyPEM, nil
}

func writeSigningKey(dir string, key *ecdsa.PrivateKey, pubDER []byte) error {
	keyPEM, err := marshalPrivateKey(key)
	if err != nil {
		return fmt.Errorf("identity: encode signing key: %w", err)
	}
	if err := writeFile(dir, SigningKeyFile, keyPEM, privateMode); err != nil {
		return fmt.Errorf("identity: write signing key: %w", err)
	}
	if err := writeFile(dir, SigningPubFile, encodePEM(pemPublicKey, pubDER), publicMode); err != nil {
		return fmt.Errorf("identity: write signing public key: %w", err)
	}
	return nil
}

// newOPRFKey generates a category's OPRF key and its file encoding.
func newOPRFKey(category string, rand io.Reader) (*oprf.PrivateKey, []byte, error) {
	key, err := oprf.GenerateKey(rand)
	if err != nil {
		return nil, nil, fmt.Errorf("identity: generate OPRF key for %s: %w", category, err)
	}
	data, err := marshalOPRFKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("identity: encode OPRF key for %s: %w", category, err)
	}
	return key, data, nil
}

func writeOPRFKey(dir, category string, rand io.Reader) (*oprf.PublicKey, error) {
	key, data, err := newOPRFKey(category, rand)
	if err != nil {
		return nil, err
	}
	if err := writeFile(dir, OPRFKeyFile(category), data, privateMode); err != nil {
		return nil, fmt.Errorf("identity: write OPRF key for %s: %w", category, err)
	}
	return key.Public(), nil
}

// AddOPRFKey creates the OPRF key for a category the institution starts
// providing and returns its public half (to register on the ledger). It
// refuses to replace an existing key (ErrExists); see RotateOPRFKey.
func AddOPRFKey(dir, category string, rand io.Reader) (*oprf.PublicKey, error) {
	if !validCategory(category) {
		return nil, fmt.Errorf("%w: %q", ErrCategory, category)
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	path := filepath.Join(dir, OPRFKeyFile(category))
	switch _, err := os.Lstat(path); {
	case err == nil:
		return nil, fmt.Errorf("%w: %s", ErrExists, path)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("identity: %w", err)
	}
	return writeOPRFKey(dir, category, rand)
}
