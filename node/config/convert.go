package config

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/riskmesh/riskmesh/accounting/fabric"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/outbox"
	"github.com/riskmesh/riskmesh/node/peer"
)

// maxPEMFile bounds a PEM file named by the configuration.
const maxPEMFile = 64 << 10

// PeerConfig returns the peer transport's tuning; the caller adds the
// certificate, authorizer and handler.
func (p Peer) PeerConfig() peer.Config {
	return peer.Config{
		HandshakeTimeout: p.HandshakeTimeout,
		IdleTimeout:      p.IdleTimeout,
		ReadTimeout:      p.ReadTimeout,
		HandleTimeout:    p.HandleTimeout,
		WriteTimeout:     p.WriteTimeout,
		MaxStreams:       p.MaxStreams,
		MaxConnsPerPeer:  p.MaxConnsPerPeer,
		RequestRate:      p.RequestRate,
		RequestBurst:     p.RequestBurst,
		MaxRequestSize:   p.MaxRequestSize,
	}
}

// OutboxConfig returns the submitter's tuning; the caller adds the ledger
// and logger.
func (o Outbox) OutboxConfig() outbox.Config {
	return outbox.Config{
		BatchSize:   o.BatchSize,
		MinBackoff:  o.MinBackoff,
		MaxBackoff:  o.MaxBackoff,
		CallTimeout: o.CallTimeout,
	}
}

// FabricConfig reads the PEM files the section names and returns the
// Fabric client configuration for the institution mspID. The private key
// file must not be accessible to group or others.
func (f *Fabric) FabricConfig(mspID string) (fabric.Config, error) {
	root, err := readPEMFile("ledger.fabric.tls_root_cert", f.TLSRootCert, false)
	if err != nil {
		return fabric.Config{}, err
	}
	cert, err := readPEMFile("ledger.fabric.certificate", f.Certificate, false)
	if err != nil {
		return fabric.Config{}, err
	}
	key, err := readPEMFile("ledger.fabric.private_key", f.PrivateKey, true)
	if err != nil {
		return fabric.Config{}, err
	}
	return fabric.Config{
		MSPID:               mspID,
		PeerAddress:         f.PeerAddress,
		TLSRootCert:         root,
		ServerName:          f.ServerName,
		Certificate:         cert,
		PrivateKey:          key,
		Channel:             f.Channel,
		Chaincode:           f.Chaincode,
		MaxInFlight:         f.MaxInFlight,
		MaxAttempts:         f.MaxAttempts,
		Backoff:             f.Backoff,
		MaxBackoff:          f.MaxBackoff,
		EndorseTimeout:      f.EndorseTimeout,
		SubmitTimeout:       f.SubmitTimeout,
		CommitStatusTimeout: f.CommitStatusTimeout,
		EvaluateTimeout:     f.EvaluateTimeout,
	}, nil
}

// readPEMFile reads a file named by key, at most maxPEMFile bytes; a
// private one must be 0600 or stricter.
func readPEMFile(key, path string, private bool) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	defer fh.Close()
	if private {
		st, err := fh.Stat()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%s: %s has mode %04o, want 0600", key, path, st.Mode().Perm())
		}
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxPEMFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if len(data) > maxPEMFile {
		return nil, fmt.Errorf("%s: %s exceeds %d bytes", key, path, maxPEMFile)
	}
	return data, nil
}

// Fingerprint returns the regulator node's pinned certificate fingerprint
// (tls_fingerprint: 64 hex digits, either case, colons between bytes
// allowed).
func (r *Remote) Fingerprint() (peer.Fingerprint, error) {
	return identity.ParseFingerprint(r.TLSFingerprint)
}

// Logger returns the slog logger the log section describes, writing to w.
func (l Log) Logger(w io.Writer) *slog.Logger {
	var level slog.Level
	// Validate has checked the name; UnmarshalText accepts all four.
	_ = level.UnmarshalText([]byte(l.Level))
	opts := &slog.HandlerOptions{Level: level}
	if l.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
