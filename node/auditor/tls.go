package auditor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/credentials"
	grpcpeer "google.golang.org/grpc/peer"

	"github.com/riskmesh/riskmesh/node/peer"
)

// ErrUnknownCaller: the caller's certificate is not an active institution's.
var ErrUnknownCaller = errors.New("auditor: caller certificate is not an active institution's")

// ServerTLS is the auditor's TLS configuration: TLS 1.3, its certificate,
// a client certificate required and accepted only if auth (the ledger
// registry) maps its fingerprint to an active institution. Certificates are
// self-signed and pinned, so no CA chain is built.
func ServerTLS(cert func() *tls.Certificate, auth peer.Authorizer, now func() time.Time) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Read at each handshake: the institution may rotate it.
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert(), nil },
		ClientAuth:     tls.RequireAnyClientCert,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := authorize(auth, cs.PeerCertificates, now())
			return err
		},
		Time: now,
	}
}

// ClientTLS is an institution's TLS configuration for calling the auditor:
// its own certificate, and the auditor's accepted only if its fingerprint
// is auditorFP (from the auditor's registry record).
func ClientTLS(cert tls.Certificate, auditorFP peer.Fingerprint) *tls.Config {
	pinned := peer.AuthorizerFunc(func(fp [32]byte) (string, error) {
		if fp != auditorFP {
			return "", fmt.Errorf("certificate %x… is not the auditor's pinned %x…", fp[:6], auditorFP[:6])
		}
		return "", nil
	})
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		// Replaced by VerifyConnection: the auditor's certificate is
		// self-signed and pinned by fingerprint.
		InsecureSkipVerify: true, //nolint:gosec // replaced by VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := authorize(pinned, cs.PeerCertificates, time.Now())
			return err
		},
	}
}

// authorize checks a handshake's leaf certificate: present, valid at now,
// and known to auth. The handshake has proved possession of its key.
func authorize(auth peer.Authorizer, certs []*x509.Certificate, now time.Time) (string, error) {
	if len(certs) == 0 {
		return "", fmt.Errorf("%w: no certificate", ErrUnknownCaller)
	}
	leaf := certs[0]
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return "", fmt.Errorf("%w: certificate not valid at %s", ErrUnknownCaller, now.UTC().Format(time.RFC3339))
	}
	msp, err := auth.Authorize(peer.FingerprintOf(leaf.Raw))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnknownCaller, err)
	}
	return msp, nil
}

// caller returns the MSP id of the gRPC caller of ctx, from the certificate
// the handshake verified (looked up again: the registry may have suspended
// it since the connection opened).
func (s *Service) caller(ctx context.Context) (string, error) {
	p, ok := grpcpeer.FromContext(ctx)
	if !ok {
		return "", fmt.Errorf("%w: no peer", ErrUnknownCaller)
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return "", fmt.Errorf("%w: not a TLS connection", ErrUnknownCaller)
	}
	return authorize(s.cfg.Authorizer, info.State.PeerCertificates, s.cfg.Now())
}
