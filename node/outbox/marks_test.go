package outbox

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// stored lists the sequence numbers the pending bucket holds on disk,
// whatever the Outbox counts.
func stored(t *testing.T, db *bolt.DB) []uint64 {
	t.Helper()
	var seqs []uint64
	must(t, db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPending).ForEach(func(_, v []byte) error {
			e, err := decodeEntry(v)
			if err != nil {
				return err
			}
			h, err := transcript.ParseHeader(e.Header)
			if err != nil {
				return err
			}
			seqs = append(seqs, h.Sequence)
			return nil
		})
	}))
	return seqs
}

// wantStored fails unless the pending bucket holds exactly seqs.
func wantStored(t *testing.T, db *bolt.DB, seqs ...uint64) {
	t.Helper()
	if got := stored(t, db); !slices.Equal(got, seqs) {
		t.Fatalf("pending bucket holds sequences %v, want %v", got, seqs)
	}
}

// unsettled is the requester's unsettled spend on the ledger: each entry
// recorded adds its amount once, a duplicate adds nothing.
func (n *network) unsettled(t *testing.T) int64 {
	t.Helper()
	list, err := n.provider.Exposures(context.Background())
	must(t, err)
	for _, x := range list {
		if x.MSPID == requester {
			return x.Unsettled
		}
	}
	t.Fatalf("no exposure for %s", requester)
	return 0
}

// outcomes is the ledger behind a tally of the statuses it answered.
type outcomes struct {
	accounting.Recorder
	mu     sync.Mutex
	status map[accounting.OutcomeStatus]int
}

func (o *outcomes) Record(ctx context.Context, entries []accounting.Entry) ([]accounting.Outcome, error) {
	out, err := o.Recorder.Record(ctx, entries)
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, oc := range out {
		o.status[oc.Status]++
	}
	return out, err
}

func (o *outcomes) count(s accounting.OutcomeStatus) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.status[s]
}

// A recorded entry leaves Depth, PendingAmounts and PendingIn at once, but
// the journal commits no transaction of its own to remove it: the removal
// rides in the next transaction that journals an entry, and stays waiting
// if that transaction rolls back.
func TestDeliveryMarksRideTheNextPut(t *testing.T) {
	n := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	o, err := Open(db, Config{Ledger: n.provider, MarkDelay: time.Hour})
	must(t, err)
	for seq := uint64(1); seq <= 2; seq++ {
		_, err := o.Put(n.entry(t, seq, 2, 0))
		must(t, err)
	}
	run(t, o)
	flush(t, o)
	wantStored(t, db, 1, 2) // recorded, removal not committed
	amounts, err := o.PendingAmounts()
	must(t, err)
	backlog, err := o.PendingIn(1)
	must(t, err)
	if o.Depth() != 0 || len(amounts) != 0 || backlog != 0 || o.Recorded() != 2 {
		t.Fatalf("after the flush: Depth %d, amounts %v, backlog %d, Recorded %d; want 0, none, 0, 2",
			o.Depth(), amounts, backlog, o.Recorded())
	}

	errRollBack := errors.New("roll back")
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := o.PutTx(tx, n.entry(t, 3, 1, 0)); err != nil {
			return err
		}
		return errRollBack
	})
	if !errors.Is(err, errRollBack) {
		t.Fatalf("Update: %v", err)
	}
	wantStored(t, db, 1, 2)

	_, err = o.Put(n.entry(t, 4, 1, 0))
	must(t, err)
	if got := stored(t, db); slices.Contains(got, 1) || slices.Contains(got, 2) {
		t.Fatalf("pending bucket holds %v after the next Put: the removals did not ride in it", got)
	}
	flush(t, o)
	if n.unsettled(t) != 2*2*price+price {
		t.Fatalf("unsettled %d, want %d", n.unsettled(t), 2*2*price+price)
	}
}

// A crash after the ledger recorded a batch and before any commit removed
// it: the restarted journal counts the entries again, sends them again, the
// ledger answers duplicate, and each is on the ledger once, billed once.
func TestCrashBeforeRemovalResendsOnce(t *testing.T) {
	n := newNetwork(t)
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "node.db"))
	defer db.Close()
	o, err := Open(db, Config{Ledger: n.provider, MarkDelay: time.Hour})
	must(t, err)
	const total = 5
	for seq := uint64(1); seq <= total; seq++ {
		_, err := o.Put(n.entry(t, seq, 1, 0))
		must(t, err)
	}
	run(t, o)
	flush(t, o)
	// The file as a crash now would leave it: what is committed.
	crashed := filepath.Join(dir, "crashed.db")
	must(t, db.View(func(tx *bolt.Tx) error { return tx.CopyFile(crashed, 0o600) }))
	want := n.unsettled(t)
	if want != total*price {
		t.Fatalf("unsettled %d before the crash, want %d", want, total*price)
	}

	db2 := openDB(t, crashed)
	defer db2.Close()
	l := &outcomes{Recorder: n.provider, status: map[accounting.OutcomeStatus]int{}}
	o2, err := Open(db2, Config{Ledger: l, MarkDelay: time.Hour})
	must(t, err)
	if o2.Depth() != total {
		t.Fatalf("Depth after the restart %d, want %d: the node cannot know they were recorded", o2.Depth(), total)
	}
	run(t, o2)
	flush(t, o2)
	if l.count(accounting.OutcomeDuplicate) != total || l.count(accounting.OutcomeRecorded) != 0 {
		t.Fatalf("re-sent entries came back %v, want %d duplicates", l.status, total)
	}
	if got := n.unsettled(t); got != want {
		t.Fatalf("unsettled %d after the re-send, want %d: an entry was billed twice", got, want)
	}
	for seq := uint64(1); seq <= total; seq++ {
		wantRecorded(t, n.provider, n.entry(t, seq, 1, 0))
	}
}

// journaled opens an outbox of cfg (its Ledger set to a new network's
// provider) on a new node.db and journals entries 1 to n of one item.
func journaled(t *testing.T, cfg Config, n uint64) (*bolt.DB, *Outbox) {
	t.Helper()
	net := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	t.Cleanup(func() { db.Close() })
	cfg.Ledger = net.provider
	o, err := Open(db, cfg)
	must(t, err)
	for seq := uint64(1); seq <= n; seq++ {
		_, err := o.Put(net.entry(t, seq, 1, 0))
		must(t, err)
	}
	return db, o
}

// With no journal commit to ride in, the submitter commits the removals
// itself: after MarkDelay when idle, at once when a batch's worth is
// waiting, and when Run or Drain ends.
func TestDeliveryMarksCommitWithoutPuts(t *testing.T) {
	t.Run("after MarkDelay", func(t *testing.T) {
		db, o := journaled(t, Config{MarkDelay: time.Millisecond}, 1)
		run(t, o)
		flush(t, o)
		deadline := time.Now().Add(30 * time.Second)
		for len(stored(t, db)) > 0 {
			if time.Now().After(deadline) {
				t.Fatal("the removal was never committed")
			}
			time.Sleep(time.Millisecond)
		}
	})
	t.Run("a batch's worth", func(t *testing.T) {
		db, o := journaled(t, Config{BatchSize: 2, MarkDelay: time.Hour}, 5)
		run(t, o)
		flush(t, o)
		wantStored(t, db, 5) // batches of 2, 2, 1: the last waits
	})
	t.Run("Run ends", func(t *testing.T) {
		db, o := journaled(t, Config{MarkDelay: time.Hour}, 1)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- o.Run(ctx) }()
		flush(t, o)
		wantStored(t, db, 1)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v", err)
		}
		wantStored(t, db)
	})
	t.Run("Drain ends", func(t *testing.T) {
		db, o := journaled(t, Config{MarkDelay: time.Hour}, 1)
		must(t, o.Drain(context.Background()))
		wantStored(t, db)
	})
}
