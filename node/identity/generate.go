package identity

import (
	"cmp"
	"crypto"
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
// existing identity (ErrExists). Every key is a file; see
// Keystore.Generate.
func Generate(dir, mspID string, categories []string, rand io.Reader, hosts ...string) error {
	return Keystore{Dir: dir}.Generate(mspID, categories, rand, hosts...)
}

// Generate is the package's Generate with each key made where k.Place
// says.
func (k Keystore) Generate(mspID string, categories []string, rand io.Reader, hosts ...string) error {
	dir := k.Dir
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

	if err := k.writeIdentity(mspID, categories, rand, hosts); err != nil {
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

func (k Keystore) writeIdentity(mspID string, categories []string, rand io.Reader, hosts []string) error {
	dir := k.Dir
	for _, c := range categories {
		if _, err := k.writeOPRFKey(mspID, c, rand); err != nil {
			return err
		}
	}
	keyPEM, pubDER, err := k.newSigningKey(mspID, rand)
	if err != nil {
		return err
	}
	if err := writeFile(dir, SigningKeyFile, keyPEM, privateMode); err != nil {
		return fmt.Errorf("identity: write signing key: %w", err)
	}
	if err := writeFile(dir, SigningPubFile, encodePEM(pemPublicKey, pubDER), publicMode); err != nil {
		return fmt.Errorf("identity: write signing public key: %w", err)
	}
	_, certPEM, keyPEM, err := k.newTLSCertificate(mspID, hosts, rand)
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
// certificate and its key file (a PKCS #8 key, or a reference to the key
// pair made in the token) PEM-encoded as tls.crt and tls.key hold them.
func (k Keystore) newTLSCertificate(mspID string, hosts []string, rand io.Reader) (der, certPEM, keyPEM []byte, err error) {
	if k.Place.TLS != InToken {
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
	signer, keyPEM, err := k.newTokenKeyPair("TLS", tlsLabel(mspID))
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := selfsigned.NewFor(signer, mspID, hosts, rand, time.Now())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("identity: TLS certificate: %w", err)
	}
	der = cert.Certificate[0]
	return der, encodePEM(pemCertificate, der), keyPEM, nil
}

// newSigningKey returns a new transcript-signing key file (a PKCS #8 key,
// or a reference to the key pair made in the token) and the public key,
// PKIX DER.
func (k Keystore) newSigningKey(mspID string, rand io.Reader) (keyPEM, pubDER []byte, err error) {
	if k.Place.Signing == InToken {
		signer, keyPEM, err := k.newTokenKeyPair("signing", signingLabel(mspID))
		if err != nil {
			return nil, nil, err
		}
		pubDER, err := ecsig.MarshalPublicKey(signer.Public().(*ecdsa.PublicKey))
		return keyPEM, pubDER, err
	}
	key, pubDER, err := ecsig.GenerateKey(rand)
	if err != nil {
		return nil, nil, fmt.Errorf("identity: generate signing key: %w", err)
	}
	keyPEM, err = marshalPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("identity: encode signing key: %w", err)
	}
	return keyPEM, pubDER, nil
}

// newTokenKeyPair makes a P-256 key pair in the token and returns it with
// the reference file that names it.
func (k Keystore) newTokenKeyPair(what, label string) (crypto.Signer, []byte, error) {
	t, err := k.token(what)
	if err != nil {
		return nil, nil, err
	}
	signer, id, err := t.generateKeyPair(label)
	if err != nil {
		return nil, nil, fmt.Errorf("identity: %s key: %w", what, err)
	}
	pubDER, err := ecsig.MarshalPublicKey(signer.Public().(*ecdsa.PublicKey))
	if err != nil {
		return nil, nil, err
	}
	return signer, marshalTokenRef(id, pubDER), nil
}

// newOPRFKey generates a category's OPRF key and its file encoding: the
// scalar, or the scalar wrapped by the token's wrapping key.
func (k Keystore) newOPRFKey(mspID, category string, rand io.Reader) (*oprf.PrivateKey, []byte, error) {
	key, err := oprf.GenerateKey(rand)
	if err != nil {
		return nil, nil, fmt.Errorf("identity: generate OPRF key for %s: %w", category, err)
	}
	var data []byte
	if k.Place.OPRF == InToken {
		t, terr := k.token("OPRF wrapping")
		if terr != nil {
			return nil, nil, terr
		}
		data, err = t.wrapOPRFKey(wrapLabel(mspID), category, key)
	} else {
		data, err = marshalOPRFKey(key)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("identity: encode OPRF key for %s: %w", category, err)
	}
	return key, data, nil
}

func (k Keystore) writeOPRFKey(mspID, category string, rand io.Reader) (*oprf.PublicKey, error) {
	key, data, err := k.newOPRFKey(mspID, category, rand)
	if err != nil {
		return nil, err
	}
	if err := writeFile(k.Dir, OPRFKeyFile(category), data, privateMode); err != nil {
		return nil, fmt.Errorf("identity: write OPRF key for %s: %w", category, err)
	}
	return key.Public(), nil
}

// AddOPRFKey creates the OPRF key for a category the institution starts
// providing and returns its public half (to register on the ledger). It
// refuses to replace an existing key (ErrExists); see RotateOPRFKey. The
// key is a file; see Keystore.AddOPRFKey.
func AddOPRFKey(dir, category string, rand io.Reader) (*oprf.PublicKey, error) {
	return Keystore{Dir: dir}.AddOPRFKey(category, rand)
}

// AddOPRFKey is the package's AddOPRFKey with the key made where k.Place
// says.
func (k Keystore) AddOPRFKey(category string, rand io.Reader) (*oprf.PublicKey, error) {
	rand, err := oprfKeyArgs(category, rand)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(k.Dir, OPRFKeyFile(category))
	switch _, err := os.Lstat(path); {
	case err == nil:
		return nil, fmt.Errorf("%w: %s", ErrExists, path)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("identity: %w", err)
	}
	msp, err := k.wrapMSPID()
	if err != nil {
		return nil, err
	}
	return k.writeOPRFKey(msp, category, rand)
}

// oprfKeyArgs checks the category an OPRF key is added or rotated for,
// before any file name is built from it, and returns rand, crypto/rand if
// nil.
func oprfKeyArgs(category string, rand io.Reader) (io.Reader, error) {
	if !validCategory(category) {
		return nil, fmt.Errorf("%w: %q", ErrCategory, category)
	}
	return cmp.Or(rand, cryptorand.Reader), nil
}

// wrapMSPID returns the MSP id that names the token's OPRF wrapping key,
// read from tls.crt, when new OPRF keys are wrapped ("" otherwise, so an
// all-file identity needs no certificate to add a key).
func (k Keystore) wrapMSPID() (string, error) {
	if k.Place.OPRF != InToken {
		return "", nil
	}
	pub, err := readPublic(k.Dir)
	if err != nil {
		return "", err
	}
	return pub.tls.Leaf.Subject.CommonName, nil
}
