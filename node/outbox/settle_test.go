package outbox

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// A journal written through a logged committer tells its writers their
// entries are durable before the transaction holding them commits:
// Config.Settle stands for that commit here, putting the entries "told
// durable" when it is called. Flush, Drain, PendingAmounts and PendingIn
// count them, because they settle first; a failing Settle fails them.
func TestSettleCountsEntriesToldDurable(t *testing.T) {
	n := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	var (
		o         *Outbox
		told      []uint64 // sequences whose entries are durable, not committed
		settleErr error
	)
	settle := func() error {
		if settleErr != nil {
			return settleErr
		}
		for _, seq := range told {
			if _, err := o.Put(n.entry(t, seq, 2, 0)); err != nil {
				return err
			}
		}
		told = nil
		return nil
	}
	o, err := Open(db, Config{Ledger: n.provider, Settle: settle})
	must(t, err)

	told = []uint64{1, 2}
	amounts, err := o.PendingAmounts()
	if err != nil || amounts[requester] != 2*2*price {
		t.Fatalf("pending amounts %v (%v), want %s: %d", amounts, err, requester, 2*2*price)
	}
	told = []uint64{3}
	if got, err := o.PendingIn(1); err != nil || got != 3 {
		t.Fatalf("PendingIn(1) = %d, %v; want 3", got, err)
	}
	told = []uint64{4}
	run(t, o)
	flush(t, o)
	for seq := uint64(1); seq <= 4; seq++ {
		wantRecorded(t, n.provider, n.entry(t, seq, 2, 0))
	}
	told = []uint64{5}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, o.Drain(ctx))
	wantRecorded(t, n.provider, n.entry(t, 5, 2, 0))

	settleErr = errors.New("fold failed")
	if _, err := o.PendingAmounts(); !errors.Is(err, settleErr) {
		t.Errorf("PendingAmounts with Settle failing: %v", err)
	}
	if _, err := o.PendingIn(1); !errors.Is(err, settleErr) {
		t.Errorf("PendingIn with Settle failing: %v", err)
	}
	if err := o.Flush(ctx); !errors.Is(err, settleErr) {
		t.Errorf("Flush with Settle failing: %v", err)
	}
	if err := o.Drain(ctx); !errors.Is(err, settleErr) {
		t.Errorf("Drain with Settle failing: %v", err)
	}
}
