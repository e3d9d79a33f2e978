package daemon

import (
	"context"
	"errors"
	"log/slog"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/ledgerrelay"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/registry"
)

// authorizer admits the active institutions of the registry and, on a
// regulator whose node hosts the embedded ledger, the consortium members
// that have not registered a certificate yet, so that a new member can
// reach the ledger relay to register its profile. The rule is the relay's
// (ledgerrelay.Registered) applied to the registry view: a certificate the
// file lists but the member's record no longer names, and every
// certificate of a suspended member, is refused at the handshake. The relay
// applies it again to the ledger itself on every call, so a stale view
// admits nothing more than a connection.
type authorizer struct {
	dir     *registry.Directory
	members peer.Authorizer // nil except on the ledger host
}

func (a authorizer) Authorize(fp [32]byte) (string, error) {
	msp, err := a.dir.Authorize(fp)
	if err == nil || a.members == nil || !errors.Is(err, registry.ErrUnknownPeer) {
		return msp, err
	}
	if msp, err = a.members.Authorize(fp); err != nil {
		return "", err
	}
	admit := ledgerrelay.Registered(viewRegistry(a.dir), a.members)
	if err := admit(context.Background(), peer.Identity{MSPID: msp, Fingerprint: fp}); err != nil {
		return "", err
	}
	return msp, nil
}

// viewRegistry looks institutions up in dir's current view.
func viewRegistry(dir *registry.Directory) ledgerrelay.Registry {
	return func(_ context.Context, msp string) (*accounting.Institution, error) {
		inst, ok := dir.View().Institution(msp)
		if !ok {
			return nil, accounting.ErrNotFound
		}
		return &inst, nil
	}
}

// watchRevocations cuts off every live connection of an institution the
// registry shows suspended, as soon as a refresh reveals it; the Authorizer
// already refuses new ones.
func watchRevocations(ctx context.Context, dir *registry.Directory, srv *peer.Server, log *slog.Logger) {
	for {
		changed := dir.Changes()
		for _, inst := range dir.View().Institutions() {
			if inst.Status == accounting.StatusActive || len(inst.TLSFingerprint) != len(peer.Fingerprint{}) {
				continue
			}
			if n := srv.Revoke(peer.Fingerprint(inst.TLSFingerprint)); n > 0 {
				log.Info("closed connections of a suspended institution", slog.Int("connections", n))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}
