package daemon

import (
	"context"
	"errors"
	"log/slog"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/registry"
)

// authorizer admits the active institutions of the registry and, on a
// regulator whose node hosts the embedded ledger, the consortium members the
// registry does not know yet, so that a new member can reach the ledger
// relay to register its profile. A member the registry marks suspended is
// refused even though the consortium lists it.
type authorizer struct {
	dir     *registry.Directory
	members peer.Authorizer // nil except on the ledger host
}

func (a authorizer) Authorize(fp [32]byte) (string, error) {
	msp, err := a.dir.Authorize(fp)
	if err == nil || a.members == nil || !errors.Is(err, registry.ErrUnknownPeer) {
		return msp, err
	}
	return a.members.Authorize(fp)
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
