package outbox

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/internal/groupcommit"
)

// A journal written through a logged committer (internal/groupcommit's
// Log, as node/provider journals its bills) tells its writers their
// entries are durable while the transaction holding them is still open,
// for up to groupcommit.FoldAfter. An outbox opened on the committer reads
// through it, so Flush, Drain, PendingAmounts and PendingIn count the
// entries journalled just before them, not yet committed.
func TestOutboxOnACommitterCountsEntriesToldDurable(t *testing.T) {
	n := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	c, err := groupcommit.Open(db, "outbox-test", func(*bolt.Tx, []byte) error { return nil })
	must(t, err)
	defer c.Close()
	o, err := Open(c, Config{Ledger: n.provider})
	must(t, err)
	journal := func(seqs ...uint64) {
		t.Helper()
		for _, seq := range seqs {
			must(t, c.Log([]byte("bill"), func(tx *bolt.Tx) error {
				_, err := o.PutTx(tx, n.entry(t, seq, 2, 0))
				return err
			}))
		}
	}

	journal(1, 2)
	amounts, err := o.PendingAmounts()
	if err != nil || amounts[requester] != 2*2*price {
		t.Fatalf("pending amounts %v (%v), want %s: %d", amounts, err, requester, 2*2*price)
	}
	journal(3)
	if got, err := o.PendingIn(1); err != nil || got != 3 {
		t.Fatalf("PendingIn(1) = %d, %v; want 3", got, err)
	}
	journal(4)
	run(t, o)
	flush(t, o)
	for seq := uint64(1); seq <= 4; seq++ {
		wantRecorded(t, n.provider, n.entry(t, seq, 2, 0))
	}
	journal(5)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, o.Drain(ctx))
	wantRecorded(t, n.provider, n.entry(t, 5, 2, 0))
}

// failingReads is a database whose reads fail, as a committer's do once a
// fold has failed (groupcommit: the committer is then unusable).
type failingReads struct {
	*bolt.DB
	err error
}

func (f failingReads) View(func(*bolt.Tx) error) error { return f.err }

// TestOutboxReadsThatFailFailItsCounts checks that Flush, Drain,
// PendingAmounts and PendingIn report a read that fails instead of
// counting what they could not read.
func TestOutboxReadsThatFailFailItsCounts(t *testing.T) {
	n := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	fail := errors.New("fold failed")
	o, err := Open(failingReads{db, fail}, Config{Ledger: n.provider})
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := o.PendingAmounts(); !errors.Is(err, fail) {
		t.Errorf("PendingAmounts with reads failing: %v", err)
	}
	if _, err := o.PendingIn(1); !errors.Is(err, fail) {
		t.Errorf("PendingIn with reads failing: %v", err)
	}
	if err := o.Flush(ctx); !errors.Is(err, fail) {
		t.Errorf("Flush with reads failing: %v", err)
	}
	if err := o.Drain(ctx); !errors.Is(err, fail) {
		t.Errorf("Drain with reads failing: %v", err)
	}
}
