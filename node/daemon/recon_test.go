package daemon

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/outbox"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// callSizes is a ledger that records every entry it is sent and keeps the
// number of entries of each Record call; nothing else of it is called.
type callSizes struct {
	accounting.Ledger
	mu    sync.Mutex
	calls []int
}

func (l *callSizes) Record(_ context.Context, entries []accounting.Entry) ([]accounting.Outcome, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, len(entries))
	out := make([]accounting.Outcome, len(entries))
	for i := range out {
		out[i].Status = accounting.OutcomeRecorded
	}
	return out, nil
}

// On a node that provides nothing, the bills of the reconciliations it
// answers go through an outbox of its own, which node.yaml's outbox section
// tunes as it tunes the provider's (it used to take the defaults, 200
// entries and 50 ms). With batches of 5 and a batch delay of an hour, seven
// bills journalled one by one reach the ledger as a full batch and, at the
// flush, the other two.
func TestReconJournalTakesOutboxSettings(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	l := &callSizes{}
	n := &node{
		cfg:    Config{Outbox: outboxConfig(config.Outbox{BatchSize: 5, BatchDelay: time.Hour})},
		log:    slog.New(slog.DiscardHandler),
		db:     openTestDB(t, filepath.Join(t.TempDir(), "node.db")),
		ledger: &ledgerConn{Ledger: l},
		cancel: cancel,
	}
	t.Cleanup(func() {
		cancel()
		n.wg.Wait()
		n.db.Close()
	})
	journal, err := n.reconJournal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const bills = 7
	putBills(t, journal, bills)
	fctx, fcancel := context.WithTimeout(ctx, time.Minute)
	defer fcancel()
	if err := journal.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	calls := slices.Clone(l.calls)
	l.mu.Unlock()
	if !slices.Equal(calls, []int{5, 2}) {
		t.Fatalf("Record calls of %v entries, want [5 2]: a full batch of outbox.batch_size, then the rest at the flush", calls)
	}
}

// A node that provides no catalog bills the reconciliations it answers
// through an outbox of its own: its stop drains that outbox as it drains the
// provider's (entries waiting for a batch reach the ledger before node.db
// closes), and its metrics show that outbox's depth. Both used to look at
// the provider's outbox only, so such a node left its bills for the next
// start and reported no outbox at all.
func TestReconJournalDrainedAtStopAndInMetrics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	l := &callSizes{}
	n := &node{
		cfg:    Config{DrainTimeout: time.Minute, Outbox: outboxConfig(config.Outbox{BatchSize: 100, BatchDelay: time.Hour})},
		log:    slog.New(slog.DiscardHandler),
		db:     openTestDB(t, filepath.Join(t.TempDir(), "node.db")),
		ledger: &ledgerConn{Ledger: l, closer: io.NopCloser(nil)},
		cancel: cancel,
	}
	journal, err := n.reconJournal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const bills = 3
	putBills(t, journal, bills)
	opts := n.metricsOptions(false, false, true)
	if opts.OutboxDepth == nil || opts.OutboxDepth() != bills {
		t.Fatalf("metrics' outbox depth before the stop: want %d", bills)
	}
	cancel()
	n.wg.Wait()
	n.close()
	l.mu.Lock()
	calls := slices.Clone(l.calls)
	l.mu.Unlock()
	if !slices.Equal(calls, []int{bills}) {
		t.Fatalf("Record calls of %v entries at the stop, want [%d]", calls, bills)
	}
	if d := opts.OutboxDepth(); d != 0 {
		t.Fatalf("outbox depth %d after the stop's drain", d)
	}
}

// putBills journals n bills of sequence 1 to n in journal.
func putBills(t *testing.T, journal *outbox.Outbox, n uint64) {
	t.Helper()
	for seq := uint64(1); seq <= n; seq++ {
		if _, err := journal.Put(bill(t, seq)); err != nil {
			t.Fatal(err)
		}
	}
}

// bill is the bill of sequence seq. The outbox carries any entry; a
// catalog exchange's header is the shortest to write.
func bill(t *testing.T, seq uint64) accounting.Entry {
	t.Helper()
	h := transcript.Header{Protocol: transcript.ProtocolCatalogOPRF, Suite: transcript.SuiteRistretto255SHA512,
		Category: "black", Period: 1, Requester: "ReqMSP", Responder: "RespMSP", Sequence: seq, Count: 1}
	hdr, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return accounting.Entry{Header: hdr, RequestHash: make([]byte, 32), ResponseHash: make([]byte, 32),
		RequesterSignature: []byte{1}, ResponderSignature: []byte{2}, Amount: 1}
}
