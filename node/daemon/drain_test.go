package daemon

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/internal/groupcommit"
	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/outbox"
)

// A provider journals its bills through a logged committer: the last
// answers' bills may still be in the transaction it holds open when the
// node stops, and the outbox's depth does not count them until it folds.
// The stop's drain used to skip the drain at depth 0, leaving those bills
// for the next start; now Drain folds them and sends them.
func TestStopDrainsBillsStillHeldInTheJournal(t *testing.T) {
	_, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := &callSizes{}
	db := openTestDB(t, filepath.Join(t.TempDir(), "node.db"))
	committer, err := groupcommit.Open(db, "provider", func(*bolt.Tx, []byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	oc := outboxConfig(config.Outbox{BatchSize: 100, BatchDelay: time.Hour})
	oc.Ledger = l
	journal, err := outbox.Open(committer, oc)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{
		cfg:     Config{DrainTimeout: time.Minute},
		log:     slog.New(slog.DiscardHandler),
		db:      db,
		ledger:  &ledgerConn{Ledger: l, closer: io.NopCloser(nil)},
		cancel:  cancel,
		journal: journal,
	}
	const bills = 3
	for seq := uint64(1); seq <= bills; seq++ {
		err := committer.Log([]byte("bill"), func(tx *bolt.Tx) error {
			_, err := journal.PutTx(tx, bill(t, seq))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	n.close()
	if err := committer.Close(); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	calls := slices.Clone(l.calls)
	l.mu.Unlock()
	if !slices.Equal(calls, []int{bills}) {
		t.Fatalf("Record calls of %v entries at the stop, want [%d]", calls, bills)
	}
}
