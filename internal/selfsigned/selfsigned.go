// Package selfsigned makes the self-signed ECDSA P-256 TLS certificates that
// RiskMesh nodes present to each other. The peer transport (node/peer) pins
// a certificate by the SHA-256 fingerprint the ledger registry records, so
// no CA signs or chains it: a node's certificate (node/identity) and the
// ones tests and benchmarks make are the same kind, made here once.
//
// The certificate's subject names the institution (common name and
// organization); its alternative names are 127.0.0.1, ::1 and localhost plus
// the hosts given. It allows server and client authentication, as both ends
// of a peer connection present one. It does not promise that the Reader
// passed in drives ECDSA key generation (Go ignores custom readers for it
// unless GODEBUG=cryptocustomrand=1); it does draw the serial number.
package selfsigned

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"time"
)

// Validity is how long a certificate is valid. It is pinned by fingerprint,
// not chained to a CA, so its expiry only forces a rotation (new
// certificate, new fingerprint on the ledger) at a time the institution
// chooses well ahead of.
const Validity = 5 * 365 * 24 * time.Hour

// clockSkew backdates NotBefore so a peer whose clock is slightly behind
// still accepts a certificate made moments ago.
const clockSkew = time.Hour

// New returns a fresh P-256 key and a self-signed certificate for it naming
// name, valid from now (less an hour of clock skew) for Validity. hosts are
// IP addresses or DNS names added to the loopback ones. The result's Leaf is
// set. rand is crypto/rand if nil.
func New(name string, hosts []string, rand io.Reader, now time.Time) (tls.Certificate, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("selfsigned: generate key: %w", err)
	}
	return NewFor(key, name, hosts, rand, now)
}

// NewFor is New for a P-256 key the caller holds, such as one in a PKCS#11
// token that signs the certificate without leaving it.
func NewFor(key crypto.Signer, name string, hosts []string, rand io.Reader, now time.Time) (tls.Certificate, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	pub, ok := key.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return tls.Certificate{}, errors.New("selfsigned: key is not ECDSA P-256")
	}
	serial, err := cryptorand.Int(rand, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("selfsigned: serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)),
		Subject:               pkix.Name{CommonName: name, Organization: []string{name}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand, tmpl, tmpl, pub, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("selfsigned: create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("selfsigned: parse certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// PEM encodes cert's leaf certificate (CERTIFICATE) and its private key
// (PKCS #8 PRIVATE KEY), the files tls.LoadX509KeyPair and node/identity
// read.
func PEM(cert tls.Certificate) (certPEM, keyPEM []byte, err error) {
	if len(cert.Certificate) == 0 || cert.PrivateKey == nil {
		return nil, nil, errors.New("selfsigned: certificate or private key missing")
	}
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return nil, nil, fmt.Errorf("selfsigned: encode private key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return certPEM, keyPEM, nil
}
