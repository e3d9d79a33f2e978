package registry_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/registry"
)

// countingLedger counts the registry refreshes a Directory makes (one
// Institutions read each).
type countingLedger struct {
	accounting.Ledger
	reads atomic.Int64
}

func (c *countingLedger) Institutions(ctx context.Context) ([]accounting.Institution, error) {
	c.reads.Add(1)
	return c.Ledger.Institutions(ctx)
}

// follower is a member Directory following a host Directory through
// Watch, as the daemon wires them over the relay, running until the test
// ends.
type follower struct {
	host, member *registry.Directory
	ledger       *countingLedger
	watches      atomic.Int64
}

func follow(t *testing.T, n *network, watch registry.Watch) *follower {
	t.Helper()
	f := &follower{host: registry.New(n.reg, registry.Options{}), ledger: &countingLedger{Ledger: n.banks[bank3MSP]}}
	if watch == nil {
		watch = func(ctx context.Context, seen uint64) (uint64, error) {
			f.watches.Add(1)
			return f.host.WaitChange(ctx, seen), nil
		}
	}
	// Refresh is 1 ms: a member that polled would refresh hundreds of
	// times while the tests below wait.
	f.member = registry.New(f.ledger, registry.Options{Refresh: time.Millisecond, Watch: watch})
	refresh(t, f.host)
	changes := f.member.Changes()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { f.member.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	<-changes // the first watch is answered at once: the member refreshes
	return f
}

// A member that follows the host refreshes only when the host's view
// changed: while the host refreshes and finds nothing new, the member
// reads nothing from the ledger; the host's next refresh after a change
// makes the member refresh once and see it.
func TestWatchRefreshesOnlyOnAHostChange(t *testing.T) {
	n := newNetwork(t)
	f := follow(t, n, nil)
	before := f.ledger.reads.Load()
	for range 20 {
		refresh(t, f.host) // nothing changed
		time.Sleep(5 * time.Millisecond)
	}
	if got := f.ledger.reads.Load(); got != before {
		t.Fatalf("the member refreshed %d times while the host's view did not change", got-before)
	}

	changes := f.member.Changes()
	must(t, n.reg.SuspendInstitution(context.Background(), bank2MSP))
	time.Sleep(50 * time.Millisecond)
	if fired(changes) {
		t.Fatal("the member saw the change before the host's view had it: it is not following the host")
	}
	refresh(t, f.host)
	<-changes
	if inst, _ := f.member.View().Institution(bank2MSP); inst.Status != accounting.StatusSuspended {
		t.Fatalf("the member's view after the host's change: %+v", inst)
	}
	if got := f.ledger.reads.Load() - before; got != 1 {
		t.Fatalf("the member refreshed %d times for one change of the host's view, want 1", got)
	}
}

// A watch that fails (a host down, or one that serves no watches) leaves
// the member polling every Refresh, so its view still follows the ledger
// and a failing ledger still shows in LastError.
func TestWatchFailingFallsBackToPolling(t *testing.T) {
	n := newNetwork(t)
	errNoWatch := errors.New("test: the host serves no watches")
	f := follow(t, n, func(context.Context, uint64) (uint64, error) { return 0, errNoWatch })
	changes := f.member.Changes()
	must(t, n.reg.SuspendInstitution(context.Background(), bank2MSP))
	<-changes // no host refresh: the member read the ledger itself
	if inst, _ := f.member.View().Institution(bank2MSP); inst.Status != accounting.StatusSuspended {
		t.Fatalf("the polling member's view: %+v", inst)
	}
	if err := f.member.LastError(); err != nil {
		t.Fatalf("LastError with a reachable ledger: %v", err)
	}
}

// WaitChange answers at once a watcher that saw another version, holds one
// that saw the current version until the view changes, and answers the
// same version when ctx ends first.
func TestWaitChange(t *testing.T) {
	n := newNetwork(t)
	d := registry.New(n.reg, registry.Options{})
	refresh(t, d)
	v := d.Version()
	if v == 0 {
		t.Fatal("version 0, which stands for none")
	}
	if got := d.WaitChange(context.Background(), v+1); got != v {
		t.Fatalf("WaitChange(another version) = %d, want %d at once", got, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if got := d.WaitChange(ctx, v); got != v {
		t.Fatalf("WaitChange with nothing changed = %d, want %d", got, v)
	}
	refresh(t, d) // nothing changed
	if d.Version() != v {
		t.Fatalf("a refresh that changed nothing moved the version from %d to %d", v, d.Version())
	}
	got := make(chan uint64)
	go func() { got <- d.WaitChange(context.Background(), v) }()
	must(t, n.reg.SuspendInstitution(context.Background(), bank2MSP))
	refresh(t, d)
	if w := <-got; w == v || w != d.Version() {
		t.Fatalf("WaitChange across a change = %d (was %d, now %d)", w, v, d.Version())
	}
}

// An answer with the same version confirms the view: its AsOf moves to
// when the watch was sent, and Changes does not fire.
func TestWatchConfirmsTheView(t *testing.T) {
	n := newNetwork(t)
	var calls atomic.Int64
	proceed, block := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(block) })
	f := follow(t, n, func(ctx context.Context, seen uint64) (uint64, error) {
		switch calls.Add(1) {
		case 1:
			return 7, nil // the first answer: refresh
		case 2:
			<-proceed
			return 7, nil // nothing changed
		}
		select {
		case <-block:
		case <-ctx.Done():
		}
		return seen, ctx.Err()
	})
	first := f.member.View().AsOf
	changes := f.member.Changes()
	close(proceed)
	for f.member.View().AsOf.Equal(first) {
		time.Sleep(time.Millisecond)
	}
	if fired(changes) {
		t.Fatal("a confirmation fired Changes")
	}
	if got := f.ledger.reads.Load(); got != 1 {
		t.Fatalf("%d refreshes for one change", got)
	}
}

// A Poked Directory (the ledger host's) refreshes when poked and not on a
// timer: with a Refresh of 1 ms it reads nothing while nobody pokes it, and
// a Poke after a change makes it refresh and see it.
func TestPokedRefreshesOnPoke(t *testing.T) {
	n := newNetwork(t)
	ledger := &countingLedger{Ledger: n.reg}
	d := registry.New(ledger, registry.Options{Refresh: time.Millisecond, Poked: true})
	changes := d.Changes()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { d.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	<-changes // Run refreshes once when it starts
	time.Sleep(100 * time.Millisecond)
	if got := ledger.reads.Load(); got != 1 {
		t.Fatalf("%d refreshes without a poke, want the first one only", got)
	}
	changes = d.Changes()
	must(t, n.reg.SuspendInstitution(context.Background(), bank2MSP))
	d.Poke()
	<-changes
	if inst, _ := d.View().Institution(bank2MSP); inst.Status != accounting.StatusSuspended {
		t.Fatalf("the view after a poke: %+v", inst)
	}
}
