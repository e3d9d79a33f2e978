package dispute_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/internal/testwait"
	"github.com/riskmesh/riskmesh/node/dispute"
)

// periodCounter counts the current-period reads made through it: on a
// member of the embedded ledger each is a call relayed to the host.
type periodCounter struct {
	accounting.Ledger
	reads atomic.Int64
}

func (p *periodCounter) Period(ctx context.Context, n uint64) (*accounting.Period, error) {
	p.reads.Add(1)
	return p.Ledger.Period(ctx, n)
}

// With nothing pending, Run waits for Enqueue alone: a Retry of 1 ms makes
// no pass and no ledger read (the old loop read the period on every tick),
// and an enqueued dispute is still filed at once.
func TestAutoRunIdlesWithNothingPending(t *testing.T) {
	n := newNetwork(t, embedded)
	_, filer := n.client(t, audittest.Requester)
	ledger := &periodCounter{Ledger: n.c.Requester.Ledger}
	dc, err := dispute.New(dispute.Config{Ledger: ledger, Auditor: filer, AuditorMSP: audittest.Regulator})
	if err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "node.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	auto, err := dispute.NewAuto(dispute.AutoConfig{Client: dc, DB: db, Retry: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(audittest.Context(t))
	var wg sync.WaitGroup
	wg.Go(func() { _ = auto.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	testwait.Until(t, "the first prune", 10*time.Second, func() error {
		if ledger.reads.Load() == 0 {
			return fmt.Errorf("no period read yet")
		}
		return nil
	})
	time.Sleep(100 * time.Millisecond) // a hundred Retry ticks
	if got := ledger.reads.Load(); got != 1 {
		t.Fatalf("%d period reads with nothing pending, want the first prune's only", got)
	}

	bad := n.c.Exchange(t, audittest.CorruptElement, audittest.Identifiers...)
	if err := auto.Enqueue(bad, "proof failed"); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the enqueued dispute filed", 10*time.Second, func() error {
		rec, err := auto.State(audit.KeyOf(&bad.Header))
		if err != nil || rec == nil || rec.Attempts == 0 {
			return fmt.Errorf("record %v, %v", rec, err)
		}
		return nil
	})
}
