package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// keyring holds the node's identity as last loaded from its identity
// directory. Every TLS handshake and every transcript signature reads it at
// the moment of use, so RotateKeys takes effect without a restart.
type keyring struct {
	mu sync.Mutex // one rotation at a time
	id atomic.Pointer[identity.Identity]
}

func (k *keyring) sign(digest []byte) ([]byte, error) { return k.id.Load().Sign(digest) }

func (k *keyring) certificate() *tls.Certificate { return &k.id.Load().Certificate }

// errHostCertificate refuses a TLS rotation on the embedded ledger's host.
var errHostCertificate = errors.New("daemon: this node hosts the embedded ledger, whose TLS certificate every member pins in its configuration (ledger.host_fingerprint); rotate it by re-issuing the consortium's configuration, or run the consortium on Fabric")

var _ api.KeyRotator = (*node)(nil)

// RotateKeys replaces one key of the node's identity and puts it to use:
//
//  1. the identity directory gets the new key (node/identity's crash-safe
//     rotation: a crash leaves the old key or the new one, never a mix);
//  2. the new public half is registered on the ledger;
//  3. only then does the node sign or shake hands with it, so a peer that
//     checks it finds it on the ledger (its registry recheck picks it up).
//
// Replaced keys stay valid where the ledger says: a signing key for the
// periods up to the one it was replaced in (entries still in the outbox
// and kept transcripts were signed under it), an OPRF key for the catalogs
// already published under it. If step 2 fails the node keeps using the old
// key and returns the error; the identity directory already holds the new
// one, which the node registers when it next starts.
func (n *node) RotateKeys(ctx context.Context, req *riskmeshv1.RotateKeysRequest) (*riskmeshv1.RotateKeysResponse, error) {
	n.keys.mu.Lock()
	defer n.keys.mu.Unlock()
	dir := n.cfg.IdentityDir
	resp := &riskmeshv1.RotateKeysResponse{Kind: req.GetKind(), Category: req.GetCategory()}
	switch req.GetKind() {
	case riskmeshv1.KeyKind_KEY_KIND_SIGNING:
		pub, err := identity.RotateSigningKey(dir, nil)
		if err != nil {
			return nil, err
		}
		resp.PublicKey = pub
	case riskmeshv1.KeyKind_KEY_KIND_TLS:
		if n.cfg.Ledger.Backend == BackendEmbedded {
			return nil, errHostCertificate
		}
		der, err := identity.RotateTLSCertificate(dir, nil)
		if err != nil {
			return nil, err
		}
		fp := peer.FingerprintOf(der)
		resp.PublicKey, resp.KeyId = der, fp[:]
	default:
		return nil, fmt.Errorf("%w: rotating %s keys", api.ErrNotSupported, req.GetKind())
	}
	id, err := identity.Load(dir)
	if err != nil {
		return nil, err
	}
	if _, err := registerSelf(ctx, n.ledger.Ledger, n.dir.View(), id, n.endpoint); err != nil && !errors.Is(err, errNotRegistered) {
		return nil, fmt.Errorf("daemon: register the new key (the node keeps the old one until it restarts): %w", err)
	}
	n.keys.id.Store(id)
	if n.auditor != nil && req.GetKind() == riskmeshv1.KeyKind_KEY_KIND_TLS {
		n.auditor.redial()
	}
	if err := n.dir.Refresh(ctx); err != nil {
		n.log.Warn("registry refresh after a key rotation failed", slog.Any("err", err))
	}
	v := n.dir.View()
	resp.EffectivePeriod = v.Period.Number
	if self, ok := v.Institution(n.cfg.MSPID); ok && req.GetKind() == riskmeshv1.KeyKind_KEY_KIND_SIGNING {
		resp.EffectivePeriod = self.SigningKeyFrom
	}
	n.log.Info("key rotated", slog.String("kind", req.GetKind().String()), slog.Uint64("effective_period", resp.EffectivePeriod))
	return resp, nil
}
