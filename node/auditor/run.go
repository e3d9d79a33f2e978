package auditor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/registry"
)

// RunConfig is the standalone auditor process (`riskmesh audit serve`):
// what Run composes a Service from. Ledger, Identity, IdentityDir, DBPath
// and Listen are required.
//
// The caller opens the ledger: reaching it as a node does (relay or Fabric
// gateway) is node/daemon's, which depends on this package through
// node/dispute, so the composition takes the opened ledger instead.
type RunConfig struct {
	// Ledger acts as the auditor institution, Identity.MSPID.
	Ledger accounting.Ledger
	// Identity is the institution's keys as loaded from IdentityDir.
	Identity *identity.Identity
	// IdentityDir is the identity directory the institution's node shares:
	// when the registry shows keys the node rotated there, the service
	// reloads them (followIdentity).
	IdentityDir string
	// Token is the PKCS#11 token holding the keys IdentityDir places in
	// one (node.yaml's keys.hsm); nil when every key is a file.
	Token *identity.Token
	// DBPath is the dispute store's bbolt file, created 0600 if missing.
	DBPath string
	// Listen is the TCP address the gRPC service binds.
	Listen string
	// Logger receives the service's events (default: discard).
	Logger *slog.Logger
	// Ready, if set, receives the bound address once the service listens.
	Ready func(net.Addr)
}

// Run serves the auditor as its own process until ctx ends: it opens the
// dispute store, follows the ledger registry (which admits callers and
// names the institution's current keys), asks providers for billed answers
// over the peer protocol as the institution, and serves the Auditor service
// with mutual TLS. It returns nil after a stop caused by ctx.
func Run(ctx context.Context, cfg RunConfig) error {
	switch {
	case cfg.Ledger == nil, cfg.Identity == nil:
		return errors.New("auditor: RunConfig.Ledger and Identity are required")
	case cfg.IdentityDir == "", cfg.DBPath == "", cfg.Listen == "":
		return errors.New("auditor: RunConfig.IdentityDir, DBPath and Listen are required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := bbolt.Open(cfg.DBPath, 0o600, &bbolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("auditor: open %s: %w", cfg.DBPath, err)
	}
	defer db.Close()
	dir := registry.New(cfg.Ledger, registry.Options{Logger: log})
	if err := dir.Refresh(ctx); err != nil {
		return fmt.Errorf("auditor: read the registry: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go dir.Run(ctx)
	live := identity.NewLive(cfg.Identity)
	go followIdentity(ctx, dir, live, identity.Keystore{Dir: cfg.IdentityDir, Token: cfg.Token}, log)
	svc, err := New(Config{
		MSPID: cfg.Identity.MSPID, Ledger: cfg.Ledger, Sign: live.Sign, DB: db, Authorizer: dir,
		Redeliver:     PeerRedeliver(dir, peer.Config{GetCertificate: live.Certificate, Authorizer: dir}),
		RedeliverLive: PeerRedeliverLive(dir, peer.Config{GetCertificate: live.Certificate, Authorizer: dir}),
		Logger:        log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("auditor: %w", err)
	}
	log.Info("auditor serving", slog.String("addr", ln.Addr().String()))
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr())
	}
	return svc.Serve(ctx, ln, live.Certificate)
}

// followIdentity keeps the service on its institution's registered keys:
// when the registry shows keys the institution's node rotated (`riskmesh
// keys rotate`, on the identity directory they share), the service reloads
// them, so its verdicts and handshakes need no restart. Until ctx ends.
func followIdentity(ctx context.Context, dir *registry.Directory, live *identity.Live, ks identity.Keystore, log *slog.Logger) {
	for {
		changed := dir.Changes()
		if inst, ok := dir.View().Institution(live.Load().MSPID); ok && inst.SigningKey != nil {
			switch switched, err := live.Follow(ks, inst.SigningKey, inst.TLSFingerprint); {
			case err != nil:
				log.Warn("auditor: reload the rotated identity", slog.Any("err", err))
			case switched:
				log.Info("auditor: now signing and serving with the institution's rotated keys")
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}
