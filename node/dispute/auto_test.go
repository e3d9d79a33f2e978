package dispute_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	"google.golang.org/grpc"

	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/internal/testclock"
	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// down is an auditor that cannot be reached.
type down struct{}

func (down) FileDispute(context.Context, *riskmeshv1.FileDisputeRequest, ...grpc.CallOption) (*riskmeshv1.FileDisputeResponse, error) {
	return nil, errors.New("connection refused")
}

type autoFixture struct {
	n     *network
	auto  *dispute.Auto
	clock *testclock.Clock
	db    *bbolt.DB
	path  string
	// events and forgotten are what Auto handed its push hooks; refuse,
	// if set, is the Recorded hook's error.
	events    []*riskmeshv1.PushEvent
	forgotten []*riskmeshv1.EntryKey
	refuse    error
	// ring, if set, seals the records.
	ring *seal.Keyring
}

func newAuto(t *testing.T, n *network, filer dispute.Filer) *autoFixture {
	t.Helper()
	f := &autoFixture{n: n, clock: testclock.New(time.Unix(1_800_000_000, 0)), path: filepath.Join(t.TempDir(), "node.db")}
	if filer == nil {
		_, filer = n.client(t, audittest.Requester)
	}
	dc, err := dispute.New(dispute.Config{Ledger: n.c.Requester.Ledger, Auditor: filer, AuditorMSP: audittest.Regulator})
	if err != nil {
		t.Fatal(err)
	}
	f.open(t, dc)
	return f
}

func (f *autoFixture) open(t *testing.T, dc *dispute.Client) {
	t.Helper()
	db, err := bbolt.Open(f.path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	f.auto, err = dispute.NewAuto(dispute.AutoConfig{Client: dc, DB: db, Retry: time.Minute, Now: f.clock.Now, Seal: f.ring,
		Recorded: func(_ *bbolt.Tx, ev *riskmeshv1.PushEvent) error {
			if f.refuse == nil {
				f.events = append(f.events, ev)
			}
			return f.refuse
		},
		Forget: func(_ *bbolt.Tx, keys []*riskmeshv1.EntryKey) error {
			f.forgotten = append(f.forgotten, keys...)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *autoFixture) state(t *testing.T, tr *transcript.Transcript) *riskmeshv1.DisputeRecord {
	t.Helper()
	rec, err := f.auto.State(audit.KeyOf(&tr.Header))
	if err != nil || rec == nil {
		t.Fatalf("state: %v, %v", rec, err)
	}
	return rec
}

func wantState(t *testing.T, rec *riskmeshv1.DisputeRecord, want riskmeshv1.DisputeState) {
	t.Helper()
	if rec.State != want {
		t.Fatalf("state %s (last error %q, verdict %v), want %s", rec.State, rec.LastError, rec.GetVerdict().GetReason(), want)
	}
}

// TestAutoDisputeWaitsForTheEntry: a bad answer disputed before the
// provider records it stays pending, and is reversed once the entry lands.
func TestAutoDisputeWaitsForTheEntry(t *testing.T) {
	n := newNetwork(t, embedded)
	f := newAuto(t, n, nil)
	ctx := audittest.Context(t)
	bad := n.c.Exchange(t, audittest.CorruptElement, audittest.Identifiers...)
	if err := f.auto.Enqueue(bad, "proof failed"); err != nil {
		t.Fatal(err)
	}
	if pending := f.auto.Process(ctx); pending != 1 {
		t.Fatalf("%d pending, want 1", pending)
	}
	wantState(t, f.state(t, bad), riskmeshv1.DisputeState_DISPUTE_STATE_PENDING)

	key := n.c.Record(t, bad)
	if pending := f.auto.Process(ctx); pending != 1 {
		t.Fatal("filed again before the retry was due")
	}
	f.clock.Advance(time.Minute)
	if pending := f.auto.Process(ctx); pending != 0 {
		t.Fatalf("%d pending after the entry landed, want 0", pending)
	}
	rec := f.state(t, bad)
	wantState(t, rec, riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED)
	if rec.Attempts != 2 || rec.Verdict.GetVerdict() != riskmeshv1.Verdict_VERDICT_UPHELD {
		t.Fatalf("record %v, want two attempts and the upheld verdict", rec)
	}
	e, err := n.c.Requester.Ledger.Entry(ctx, key)
	if err != nil || e.Reversal == nil {
		t.Fatalf("entry %+v, %v: want reversed", e, err)
	}
}

func TestAutoDisputeOutcomes(t *testing.T) {
	n := newNetwork(t, embedded)
	f := newAuto(t, n, nil)
	ctx := audittest.Context(t)
	honest := n.c.Exchange(t, audittest.Honest, audittest.Identifiers...)
	n.c.Record(t, honest)
	unbilled := n.c.Exchange(t, audittest.WrongKey, audittest.Identifiers...)
	for _, tr := range []*transcript.Transcript{honest, unbilled} {
		if err := f.auto.Enqueue(tr, "proof failed"); err != nil {
			t.Fatal(err)
		}
	}
	f.auto.Process(ctx)
	wantState(t, f.state(t, honest), riskmeshv1.DisputeState_DISPUTE_STATE_REJECTED)
	wantState(t, f.state(t, unbilled), riskmeshv1.DisputeState_DISPUTE_STATE_PENDING)

	// The period ends without the provider recording the bad answer.
	reg := n.c.Regulator.Ledger
	if _, err := reg.Rollover(ctx); err != nil {
		t.Fatal(err)
	}
	if err := reg.ClosePeriod(ctx, n.c.Period); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	if pending := f.auto.Process(ctx); pending != 0 {
		t.Fatalf("%d pending, want 0", pending)
	}
	wantState(t, f.state(t, unbilled), riskmeshv1.DisputeState_DISPUTE_STATE_UNBILLED)

	// Each change of state went to the push hook once, in order, as
	// GetQuery shows it; retries that changed nothing did not.
	hk, uk := audit.KeyOf(&honest.Header), audit.KeyOf(&unbilled.Header)
	want := []struct {
		key   uint64
		state riskmeshv1.DisputeState
	}{
		{hk.Sequence, riskmeshv1.DisputeState_DISPUTE_STATE_PENDING},
		{uk.Sequence, riskmeshv1.DisputeState_DISPUTE_STATE_PENDING},
		{hk.Sequence, riskmeshv1.DisputeState_DISPUTE_STATE_REJECTED},
		{uk.Sequence, riskmeshv1.DisputeState_DISPUTE_STATE_UNBILLED},
	}
	if len(f.events) != len(want) {
		t.Fatalf("%d dispute events, want %d: %v", len(f.events), len(want), f.events)
	}
	for i, ev := range f.events {
		d := ev.GetDispute()
		if ev.Type != riskmeshv1.PushEventType_PUSH_EVENT_TYPE_DISPUTE || d.GetKey().GetSequence() != want[i].key ||
			d.GetKey().GetPeriod() != n.c.Period || d.State != want[i].state || d.Reason == "" {
			t.Errorf("event %d is %v, want sequence %d %s with a reason", i, ev, want[i].key, want[i].state)
		}
	}
	if state, reason, _ := f.auto.Status(hk); f.events[2].GetDispute().Reason != reason || state != riskmeshv1.DisputeState_DISPUTE_STATE_REJECTED {
		t.Errorf("event reason %q, GetQuery's %q", f.events[2].GetDispute().Reason, reason)
	}
}

// A dispute whose push event cannot be journaled is not queued either:
// the change and its event commit together or not at all.
func TestAutoDisputeEventAbortsWithItsChange(t *testing.T) {
	n := newNetwork(t, embedded)
	f := newAuto(t, n, nil)
	bad := n.c.Exchange(t, audittest.WrongKey, audittest.Identifiers...)
	f.refuse = errors.New("journal full")
	if err := f.auto.Enqueue(bad, "proof failed"); err == nil {
		t.Fatal("Enqueue succeeded although its event was refused")
	}
	if rec, err := f.auto.State(audit.KeyOf(&bad.Header)); err != nil || rec != nil {
		t.Fatalf("dispute stored without its event: %v, %v", rec, err)
	}
}

// TestAutoDisputeSurvivesAuditorDownAndRestart: an unreachable auditor
// leaves the dispute pending with the error and a later retry; the record
// survives a restart and is settled by the next run.
func TestAutoDisputeSurvivesAuditorDownAndRestart(t *testing.T) {
	n := newNetwork(t, embedded)
	f := newAuto(t, n, down{})
	bad := n.c.Exchange(t, audittest.WrongKey, audittest.Identifiers...)
	n.c.Record(t, bad)
	if err := f.auto.Enqueue(bad, "proof failed"); err != nil {
		t.Fatal(err)
	}
	f.auto.Process(audittest.Context(t))
	rec := f.state(t, bad)
	wantState(t, rec, riskmeshv1.DisputeState_DISPUTE_STATE_PENDING)
	if rec.LastError == "" || !rec.NextAttempt.AsTime().Equal(f.clock.Now().Add(time.Minute)) {
		t.Fatalf("record %v, want the error and a retry in one minute", rec)
	}

	f.db.Close()
	_, ac := n.client(t, audittest.Requester)
	dc, err := dispute.New(dispute.Config{Ledger: n.c.Requester.Ledger, Auditor: ac, AuditorMSP: audittest.Regulator})
	if err != nil {
		t.Fatal(err)
	}
	f.open(t, dc)
	f.clock.Advance(time.Minute)
	ctx, cancel := context.WithCancel(audittest.Context(t))
	f.auto.Process(ctx)
	cancel()
	if err := f.auto.Run(ctx); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	wantState(t, f.state(t, bad), riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED)
}

// TestAutoPrune: settled disputes of old periods are dropped, pending ones
// and newer ones kept.
func TestAutoPrune(t *testing.T) {
	n := newNetwork(t, embedded)
	f := newAuto(t, n, nil)
	ctx := audittest.Context(t)
	settled := n.c.Exchange(t, audittest.Honest, audittest.Identifiers...)
	n.c.Record(t, settled)
	pending := n.c.Exchange(t, audittest.WrongKey, audittest.Identifiers...)
	for _, tr := range []*transcript.Transcript{settled, pending} {
		if err := f.auto.Enqueue(tr, "proof failed"); err != nil {
			t.Fatal(err)
		}
	}
	f.auto.Process(ctx)
	if got, err := f.auto.Prune(n.c.Period); err != nil || got != 0 {
		t.Fatalf("Prune(current period) = %d, %v; want nothing pruned", got, err)
	}
	if got, err := f.auto.Prune(n.c.Period + 1); err != nil || got != 1 {
		t.Fatalf("Prune(next period) = %d, %v; want the settled dispute pruned", got, err)
	}
	if rec, err := f.auto.State(audit.KeyOf(&settled.Header)); err != nil || rec != nil {
		t.Fatalf("settled dispute still there: %v, %v", rec, err)
	}
	if sk := audit.KeyOf(&settled.Header); len(f.forgotten) != 1 || f.forgotten[0].Sequence != sk.Sequence || f.forgotten[0].Responder != sk.Responder {
		t.Fatalf("push told to forget %v, want the pruned dispute only", f.forgotten)
	}
	wantState(t, f.state(t, pending), riskmeshv1.DisputeState_DISPUTE_STATE_PENDING)
}
