package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/riskmesh/riskmesh/node/peer"
)

// newCertificate returns a fresh self-signed P-256 TLS certificate for
// msp, valid for a day: node/peer pins certificates by fingerprint, so no
// CA is involved.
func newCertificate(msp string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: msp},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate of %s: %w", msp, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// members is a fixed consortium for node/peer: certificate fingerprint to
// MSP id.
type members map[peer.Fingerprint]string

func (m members) add(msp string) (tls.Certificate, error) {
	cert, err := newCertificate(msp)
	if err == nil {
		m[peer.FingerprintOf(cert.Certificate[0])] = msp
	}
	return cert, err
}

func (m members) Authorize(fp [32]byte) (string, error) {
	if msp, ok := m[fp]; ok {
		return msp, nil
	}
	return "", peer.ErrUnknownPeer
}
