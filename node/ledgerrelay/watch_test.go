package ledgerrelay_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/ledgertest"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/node/ledgerrelay"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// watchHost serves registry watches from host's Directory over real QUIC,
// admitting with admit.
func watchHost(t *testing.T, n *network, host *registry.Directory, admit ledgerrelay.Admission) string {
	t.Helper()
	watcher := ledgerrelay.NewWatcher(host.WaitChange, admit)
	srv, err := peer.Listen(t.Context(), "127.0.0.1:0", peer.Config{
		Certificate: n.certs[ledgertest.RegulatorMSP],
		Authorizer:  n.auth,
		Handler: func(ctx context.Context, from peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
			if w := req.GetLedgerWatch(); w != nil {
				return watcher(ctx, from, w)
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr().String()
}

func dialAt(t *testing.T, n *network, addr, msp string) *peer.Client {
	t.Helper()
	c, err := peer.Dial(t.Context(), addr, peer.Config{Certificate: n.certs[msp], Authorizer: n.auth})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A member's watch over the relay is answered at once with the host's
// version when it saw another, and held until the host's view changes
// when it saw the current one.
func TestWatchThroughRelay(t *testing.T) {
	n := newNetwork(t, nil)
	n.onboard(t)
	host := registry.New(n.direct(t, ledgertest.RegulatorMSP), registry.Options{})
	must(t, host.Refresh(t.Context()))
	watch := ledgerrelay.Watch(dialAt(t, n, watchHost(t, n, host, nil), ledgertest.Bank1MSP).Do)

	v, err := watch(t.Context(), 0)
	if err != nil || v != host.Version() {
		t.Fatalf("first watch = %d, %v; want the host's version %d at once", v, err, host.Version())
	}
	got := make(chan error, 1)
	go func() {
		w, err := watch(t.Context(), v)
		if err == nil && (w == v || w != host.Version()) {
			err = fmt.Errorf("answered version %d after the change (saw %d, host at %d)", w, v, host.Version())
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a watch of the current version was answered before any change: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	must(t, n.direct(t, ledgertest.RegulatorMSP).SuspendInstitution(t.Context(), ledgertest.Bank3MSP))
	must(t, host.Refresh(t.Context()))
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// A member the host does not admit (here suspended) learns nothing from a
// watch: the host refuses it as the contract refuses a forbidden call,
// and does not hold it.
func TestAdversaryWatchNotAdmitted(t *testing.T) {
	n := newNetwork(t, nil)
	n.onboard(t)
	host := registry.New(n.direct(t, ledgertest.RegulatorMSP), registry.Options{})
	must(t, host.Refresh(t.Context()))
	admit := func(_ context.Context, from peer.Identity) error {
		if from.MSPID == ledgertest.Bank3MSP {
			return fmt.Errorf("%w: %s is suspended", ledgerrelay.ErrNotAdmitted, from.MSPID)
		}
		return nil
	}
	addr := watchHost(t, n, host, admit)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	v, err := ledgerrelay.Watch(dialAt(t, n, addr, ledgertest.Bank3MSP).Do)(ctx, host.Version())
	var ae *accounting.Error
	if !errors.As(err, &ae) || ae.Code != chaincode.CodeForbidden || v != 0 {
		t.Fatalf("suspended member's watch = %d, %v; want a forbidden rejection", v, err)
	}
	if v, err := ledgerrelay.Watch(dialAt(t, n, addr, ledgertest.Bank1MSP).Do)(ctx, 0); err != nil || v != host.Version() {
		t.Fatalf("admitted member's watch = %d, %v", v, err)
	}
}
