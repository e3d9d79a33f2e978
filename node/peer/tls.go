package peer

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"
)

// ALPN is the application protocol both sides negotiate. A version bump of
// the peer protocol is a new ALPN value, so mismatched nodes fail the
// handshake instead of misreading frames.
const ALPN = "riskmesh/1"

// Fingerprint is the SHA-256 digest of a TLS leaf certificate's DER
// encoding: the identity the ledger registry records for an institution.
type Fingerprint [sha256.Size]byte

// FingerprintOf returns the fingerprint of a DER-encoded certificate.
func FingerprintOf(der []byte) Fingerprint { return sha256.Sum256(der) }

// String returns the fingerprint in lower-case hex, the form the registry
// and logs use.
func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }

// Authorizer decides whether a certificate fingerprint belongs to an
// institution allowed to talk to this node, and which. It is backed by the
// ledger registry (active institutions only). The fingerprint of a
// certificate is public, so an implementation may look it up in a map: no
// secret is compared.
type Authorizer interface {
	// Authorize returns the MSP id of the active institution whose TLS
	// certificate has this fingerprint, or an error to refuse the peer.
	Authorize(fingerprint [32]byte) (mspID string, err error)
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(fingerprint [32]byte) (string, error)

// Authorize calls f.
func (f AuthorizerFunc) Authorize(fingerprint [32]byte) (string, error) { return f(fingerprint) }

// Identity is an authenticated peer.
type Identity struct {
	MSPID       string
	Fingerprint Fingerprint
}

// authorize checks a handshake's peer leaf certificate: present, within its
// validity period at now, and known to auth. The TLS handshake has already
// proved that the peer holds the certificate's private key
// (CertificateVerify), so pinning the leaf by fingerprint is the whole
// authentication; no CA chain is built.
func authorize(auth Authorizer, certs []*x509.Certificate, now time.Time) (Identity, error) {
	if len(certs) == 0 {
		return Identity{}, ErrNoPeerCertificate
	}
	leaf := certs[0]
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return Identity{}, fmt.Errorf("%w: certificate not valid at %s", ErrUnknownPeer, now.UTC().Format(time.RFC3339))
	}
	fp := FingerprintOf(leaf.Raw)
	msp, err := auth.Authorize(fp)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %s: %w", ErrUnknownPeer, fp, err)
	}
	return Identity{MSPID: msp, Fingerprint: fp}, nil
}

// tlsConfig returns the TLS configuration of either side: TLS 1.3 only, our
// certificate presented, the peer's certificate required and checked by
// authorize inside the handshake (VerifyConnection), so an unknown peer
// never completes it.
func tlsConfig(cfg *Config, server bool) *tls.Config {
	c := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		MaxVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cfg.Certificate},
		NextProtos:   []string{ALPN},
		// Certificates are self-signed and pinned by fingerprint, so the
		// standard chain and host name checks cannot apply; VerifyConnection
		// replaces them and runs on both sides.
		InsecureSkipVerify: !server, //nolint:gosec // replaced by VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			if cs.NegotiatedProtocol != ALPN {
				return fmt.Errorf("peer: negotiated protocol %q, want %q", cs.NegotiatedProtocol, ALPN)
			}
			_, err := authorize(cfg.Authorizer, cs.PeerCertificates, cfg.now())
			return err
		},
		Time: cfg.now,
	}
	if server {
		c.ClientAuth = tls.RequireAnyClientCert
	}
	if get := cfg.GetCertificate; get != nil {
		c.Certificates = nil
		c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return get(), nil }
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return get(), nil }
	}
	return c
}
