package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// errHostCertificate refuses a TLS rotation on the embedded ledger's host.
var errHostCertificate = errors.New("daemon: this node hosts the embedded ledger, whose TLS certificate every member pins in its configuration (ledger.remote.tls_fingerprint); rotate it by re-issuing the consortium's configuration, or run the consortium on Fabric")

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
// one, which the node registers when it next starts. A TLS or signing key
// in a PKCS#11 token is made there (KeysConfig.Place); the key it replaces
// stays in the token, in use, until step 2 succeeds, and is destroyed then.
func (n *node) RotateKeys(ctx context.Context, req *riskmeshv1.RotateKeysRequest) (*riskmeshv1.RotateKeysResponse, error) {
	n.rotateMu.Lock()
	defer n.rotateMu.Unlock()
	ks := n.keystore
	resp := &riskmeshv1.RotateKeysResponse{Kind: req.GetKind(), Category: req.GetCategory()}
	switch req.GetKind() {
	case riskmeshv1.KeyKind_KEY_KIND_SIGNING:
		pub, err := ks.RotateSigningKey(nil)
		if err != nil {
			return nil, err
		}
		resp.PublicKey = pub
	case riskmeshv1.KeyKind_KEY_KIND_TLS:
		if n.cfg.Ledger.Backend == BackendEmbedded {
			return nil, errHostCertificate
		}
		der, err := ks.RotateTLSCertificate(nil)
		if err != nil {
			return nil, err
		}
		fp := peer.FingerprintOf(der)
		resp.PublicKey, resp.KeyId = der, fp[:]
	case riskmeshv1.KeyKind_KEY_KIND_OPRF:
		return n.rotateOPRF(ctx, req.GetCategory(), resp)
	default:
		return nil, fmt.Errorf("%w: rotating %s keys", api.ErrNotSupported, req.GetKind())
	}
	id, err := ks.Load()
	if err != nil {
		return nil, err
	}
	if _, err := registerSelf(ctx, n.ledger.Ledger, n.dir.View(), id, n.endpoint); err != nil && !errors.Is(err, errNotRegistered) {
		return nil, fmt.Errorf("daemon: register the new key (the node keeps the old one until it restarts): %w", err)
	}
	n.keys.Store(id)
	// The ledger has the new key: a replaced key in the token can go.
	if err := ks.DiscardRetired(); err != nil {
		n.log.Warn("destroying the replaced key in the token failed; it is retried at the next rotation", slog.Any("err", err))
	}
	if req.GetKind() == riskmeshv1.KeyKind_KEY_KIND_TLS {
		// The ledger host and the auditor serve only the certificate the
		// registry now names.
		if n.ledger.host != nil {
			n.ledger.host.Redial()
		}
		if n.auditor != nil {
			n.auditor.redial()
		}
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

// rotateOPRF rotates a provided category's OPRF key. The provider refuses
// while the key it would drop (one previous key is kept per category)
// still backs a catalog requesters may query; it then builds the next
// catalogs under the new key and registers it. The new key is effective
// from the first period whose catalog was not yet published.
func (n *node) rotateOPRF(ctx context.Context, category string, resp *riskmeshv1.RotateKeysResponse) (*riskmeshv1.RotateKeysResponse, error) {
	if n.prov == nil {
		return nil, fmt.Errorf("%w: this node provides no lists", api.ErrNotSupported)
	}
	if err := n.prov.CheckRotate(ctx, category); err != nil {
		return nil, err
	}
	pub, err := n.keystore.RotateOPRFKey(category, nil)
	if err != nil {
		return nil, err
	}
	id, err := n.keystore.Load()
	if err != nil {
		return nil, err
	}
	key, ok := id.OPRFKey(category)
	if !ok {
		return nil, fmt.Errorf("daemon: %s's OPRF key missing after its rotation", category)
	}
	n.keys.Store(id)
	if err := n.prov.RotateKey(ctx, category, key); err != nil {
		return nil, fmt.Errorf("daemon: register the new OPRF key (in use for the next catalog; its publication registers it): %w", err)
	}
	if resp.PublicKey, err = pub.MarshalBinary(); err != nil {
		return nil, err
	}
	kid := pub.KeyID()
	resp.KeyId = kid[:]
	resp.EffectivePeriod = n.dir.View().Period.Number
	if _, err := n.ledger.Ledger.Catalog(ctx, n.cfg.MSPID, category, resp.EffectivePeriod); err == nil {
		resp.EffectivePeriod++
	}
	n.log.Info("key rotated", slog.String("kind", resp.GetKind().String()), slog.String("category", category),
		slog.Uint64("effective_period", resp.EffectivePeriod))
	return resp, nil
}
