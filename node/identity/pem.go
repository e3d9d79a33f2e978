package identity

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// PEM block types.
const (
	pemCertificate = "CERTIFICATE"
	pemPrivateKey  = "PRIVATE KEY"
	pemPublicKey   = "PUBLIC KEY"
	pemOPRFKey     = "RISKMESH OPRF PRIVATE KEY"
)

// decodePEM returns the bytes of the one PEM block of type typ in data.
// Anything else (no block, another type, headers, a second block or other
// trailing text) is refused: a key file holds exactly one key.
func decodePEM(data []byte, typ string) ([]byte, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrMalformed)
	}
	if block.Type != typ {
		return nil, fmt.Errorf("%w: PEM block %q, want %q", ErrMalformed, block.Type, typ)
	}
	if len(block.Headers) != 0 {
		return nil, fmt.Errorf("%w: PEM headers not allowed", ErrMalformed)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: data after the PEM block", ErrMalformed)
	}
	return block.Bytes, nil
}

func encodePEM(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// ParseCertificate parses tls.crt: one self-signed ECDSA P-256 certificate
// whose subject common name is a valid MSP id.
func ParseCertificate(data []byte) (*x509.Certificate, error) {
	der, err := decodePEM(data, pemCertificate)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrMalformed, err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: certificate key is not ECDSA P-256", ErrMalformed)
	}
	if !names.MSPID(cert.Subject.CommonName) {
		return nil, fmt.Errorf("%w: certificate subject is not an MSP id", ErrMSPID)
	}
	return cert, nil
}

// ParsePrivateKey parses tls.key or signing.key: one PKCS #8 ECDSA P-256 key.
func ParsePrivateKey(data []byte) (*ecdsa.PrivateKey, error) {
	der, err := decodePEM(data, pemPrivateKey)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: private key: %v", ErrMalformed, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: private key is not ECDSA P-256", ErrMalformed)
	}
	return key, nil
}

// ParsePublicKey parses signing.pub: one PKIX P-256 public key. It returns
// the DER the registry stores along with the parsed key.
func ParsePublicKey(data []byte) (*ecdsa.PublicKey, []byte, error) {
	der, err := decodePEM(data, pemPublicKey)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecsig.ParsePublicKey(der)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return key, der, nil
}

// ParseOPRFKey parses oprf-<category>.key: one 32-byte canonical non-zero
// scalar.
func ParseOPRFKey(data []byte) (*oprf.PrivateKey, error) {
	raw, err := decodePEM(data, pemOPRFKey)
	if err != nil {
		return nil, err
	}
	key := new(oprf.PrivateKey)
	if err := key.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return key, nil
}

func marshalPrivateKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return encodePEM(pemPrivateKey, der), nil
}

func marshalOPRFKey(key *oprf.PrivateKey) ([]byte, error) {
	raw, err := key.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return encodePEM(pemOPRFKey, raw), nil
}

func validCategory(c string) bool { return names.Category(c) }
