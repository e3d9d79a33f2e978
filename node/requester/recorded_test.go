package requester

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// recorder keeps what Config.Recorded received, failing the types in fail.
type recorder struct {
	mu     sync.Mutex
	events []*riskmeshv1.PushEvent
	fail   riskmeshv1.PushEventType
}

var errRecorder = errors.New("recorder refuses")

func (rc *recorder) record(tx *bolt.Tx, ev *riskmeshv1.PushEvent) error {
	if !tx.Writable() {
		return errors.New("Recorded called outside a read-write transaction")
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if ev.Type == rc.fail {
		return errRecorder
	}
	rc.events = append(rc.events, proto.Clone(ev).(*riskmeshv1.PushEvent))
	return nil
}

func (rc *recorder) of(id string) []*riskmeshv1.PushEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []*riskmeshv1.PushEvent
	for _, ev := range rc.events {
		if ev.QueryId == id {
			out = append(out, ev)
		}
	}
	return out
}

// Config.Recorded receives each provider's part and the merged result as
// the Query stream sends them, then a late answer's change as GetQuery
// shows it, each from the transaction that stores it.
func TestRecordedEvents(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10), span(5, 15))
	rc := &recorder{}
	r := n.newRequester("", func(c *setup) { c.Recorded = rc.record })
	ready(t, r)
	n.providers[0].set(func(p *testProvider) { p.lose = 1 })

	stream := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 7, 20),
		Deadline: durationpb.New(2 * time.Second), ClientRequestId: "batch-1"})
	id := stream[0].GetAccepted().QueryId
	// The late answer may already be in (a loaded machine): its event
	// comes fourth, checked below.
	got := rc.of(id)
	if len(got) != 3 && len(got) != 4 {
		t.Fatalf("%d events recorded at the deadline, want 2 provider parts and the result: %v", len(got), got)
	}
	for i, ev := range got[:2] {
		if ev.Type != riskmeshv1.PushEventType_PUSH_EVENT_TYPE_PROVIDER_RESULT ||
			!proto.Equal(ev.ProviderResult, stream[1+i].GetProviderResult()) {
			t.Errorf("event %d is %v, want the stream's provider result %v", i, ev, stream[1+i].GetProviderResult())
		}
	}
	if ev := got[2]; ev.Type != riskmeshv1.PushEventType_PUSH_EVENT_TYPE_QUERY_RESULT || !proto.Equal(ev.Result, stream[3].GetResult()) ||
		ev.Category != testCategory || ev.ClientRequestId != "batch-1" {
		t.Errorf("last event %v, want the stream's result with the query's category and client request id", ev)
	}

	// Waiting on the stored record, not on the recorder: Recorded runs
	// before the transaction commits.
	waitLate(t, r, "P1's late answer", func() bool {
		_, pr := storedPart(t, r, id, "P1MSP")
		return pr.GetStatus() != unavailable
	})
	rec, pr := storedPart(t, r, id, "P1MSP")
	got = rc.of(id)
	if len(got) != 4 {
		t.Fatalf("%d events after the late answer, want 4", len(got))
	}
	ev := got[3]
	if ev.Type != riskmeshv1.PushEventType_PUSH_EVENT_TYPE_QUERY_CHANGED || !proto.Equal(ev.ProviderResult, pr) ||
		!proto.Equal(ev.Result, rec.Result) || ev.ProviderResult.GetLateChange().GetSource() != riskmeshv1.LateSource_LATE_SOURCE_LATE_ANSWER {
		t.Fatalf("late event %v, want P1's late part and the new result as GetQuery shows them", ev)
	}
}

// An error from Config.Recorded aborts the transaction of the change: the
// change is not stored without its event. The last provider's part and the
// merged result are one change (docs/node-requester.md, "Durability"):
// refusing the result's event loses the last part too, and keeps the first
// (which P2, held back until it is stored, could not share a commit with).
func TestRecordedErrorAbortsTheChange(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10), span(0, 10))
	rc := &recorder{fail: riskmeshv1.PushEventType_PUSH_EVENT_TYPE_QUERY_RESULT}
	r := n.newRequester("", func(c *setup) { c.Recorded = rc.record })
	ready(t, r)
	hang := make(chan struct{})
	n.providers[1].set(func(p *testProvider) { p.hang = hang })
	var stream []*riskmeshv1.QueryEvent
	queried := make(chan error, 1)
	go func() {
		queried <- r.Query(context.Background(), &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1)},
			func(ev *riskmeshv1.QueryEvent) error {
				stream = append(stream, ev)
				return nil
			})
	}()
	waitFor(t, "P1's part stored", func() bool {
		recs, _, err := r.store.running()
		return err == nil && len(recs) == 1 && len(recs[0].ProviderResults) == 1
	})
	close(hang)
	must(t, <-queried)
	if len(stream) != 4 || stream[0].GetAccepted() == nil {
		t.Fatalf("events %v, want accepted, two parts and the result", stream)
	}
	id := stream[0].GetAccepted().QueryId
	rec, err := r.store.get(id)
	must(t, err)
	if rec.State != riskmeshv1.QueryState_QUERY_STATE_RUNNING || rec.Result != nil || len(rec.ProviderResults) != 1 ||
		rec.ProviderResults[0].Provider != n.providers[0].msp {
		t.Fatalf("stored record %v with result %v and parts %v, want P1's part kept, and neither the last part nor a result without its event",
			rec.State, rec.Result, rec.ProviderResults)
	}
	// The recorder is no transaction: it also saw the last part's event,
	// which the aborted transaction took back with the part.
	got := rc.of(id)
	if len(got) != 2 || got[0].Type != riskmeshv1.PushEventType_PUSH_EVENT_TYPE_PROVIDER_RESULT ||
		!proto.Equal(got[0].ProviderResult, rec.ProviderResults[0]) || got[1].ProviderResult.GetProvider() != n.providers[1].msp {
		t.Fatalf("events %v, want the stored first part's, then the last part's from the aborted change", got)
	}
}

// An answer recovered by reconciliation reports the query's changed part
// and result, and the bill's new state, once: a later pass that changes no
// state reports nothing.
func TestRecordedReconciliation(t *testing.T) {
	rc := &recorder{}
	n := newNetwork(t, 1_000_000, span(0, 10))
	r, _, clk, _ := n.reconcileRequester(t, func(c *Config) { c.Recorded = rc.record })
	p := n.providers[0]
	p.set(func(p *testProvider) { p.lose = 1 })
	stream := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2, 3),
		Deadline: durationpb.New(time.Second)})
	id := stream[0].GetAccepted().QueryId
	n.flushOutboxes()
	reconcileOverAnHour(t, r, clk)

	got := rc.of(id)
	if len(got) != 3 || got[2].Type != riskmeshv1.PushEventType_PUSH_EVENT_TYPE_QUERY_CHANGED {
		t.Fatalf("query events %v, want the part, the result, then the recovered change", got)
	}
	rec, pr := storedPart(t, r, id, p.msp)
	if !proto.Equal(got[2].ProviderResult, pr) || !proto.Equal(got[2].Result, rec.Result) ||
		pr.GetLateChange().GetSource() != riskmeshv1.LateSource_LATE_SOURCE_RECONCILED {
		t.Fatalf("recovered change %v, want the stored part and result", got[2])
	}
	var states []riskmeshv1.ReconcileState
	for _, ev := range rc.of("") {
		if ev.Type != riskmeshv1.PushEventType_PUSH_EVENT_TYPE_RECONCILED || ev.Reconciled.GetKey().GetResponder() != p.msp {
			t.Fatalf("unexpected event %v", ev)
		}
		states = append(states, ev.Reconciled.State)
	}
	if len(states) != 2 || states[0] != riskmeshv1.ReconcileState_RECONCILE_STATE_PENDING ||
		states[1] != riskmeshv1.ReconcileState_RECONCILE_STATE_RECOVERED {
		t.Fatalf("reconciliation events %v, want PENDING then RECOVERED, once each", states)
	}
}

// collect hands one commit every part that has completed, at least one
// and at most the parts left: parts that complete while an earlier commit
// is in flight share the next (docs/node-requester.md, "Durability").
func TestCollectTakesThePartsThatCompleted(t *testing.T) {
	results := make(chan partDone, 3)
	for i := range 3 {
		results <- partDone{held: int64(i)}
	}
	if got := collect(results, 2, 0); len(got) != 2 || got[0].held != 0 || got[1].held != 1 {
		t.Fatalf("collect with 2 left took %v, want the first two parts in order", got)
	}
	if got := collect(results, 2, 0); len(got) != 1 || got[0].held != 2 {
		t.Fatalf("collect took %v, want the one part there", got)
	}
	late := make(chan partDone)
	go func() { late <- partDone{held: 7} }()
	if got := collect(late, 3, 0); len(got) != 1 || got[0].held != 7 {
		t.Fatalf("collect took %v, want the part it waited for", got)
	}
}

// TestCollectHoldsForTheOtherParts: with a hold, collect waits for the
// parts still due, up to the hold after the first arrived, so parts that
// arrive a little apart share one commit; a part that does not come in
// time is left to the next.
func TestCollectHoldsForTheOtherParts(t *testing.T) {
	results := make(chan partDone)
	go func() {
		for i := range 3 {
			results <- partDone{held: int64(i)}
			time.Sleep(time.Millisecond)
		}
	}()
	if got := collect(results, 3, time.Minute); len(got) != 3 || got[0].held != 0 || got[2].held != 2 {
		t.Fatalf("collect with a hold took %v, want the three parts in order", got)
	}
	slow := make(chan partDone)
	go func() { slow <- partDone{held: 1} }()
	if got := collect(slow, 2, 10*time.Millisecond); len(got) != 1 || got[0].held != 1 {
		t.Fatalf("collect took %v, want the one part that came before the hold ran out", got)
	}
}

// Parts stored by one update are one change: each part's spend is added
// and its event journalled in order, then the result's; an error
// journalling the result takes back every part with it.
func TestUpdateStoresPartsTogether(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "node.db"), 0o600, nil)
	must(t, err)
	t.Cleanup(func() { db.Close() })
	rc := &recorder{}
	s, err := openStore(db, nil, time.Now, rc.record, nil)
	must(t, err)
	added := []*riskmeshv1.ProviderResult{{Provider: "P1MSP", Amount: 3}, {Provider: "P2MSP", Amount: 4}}
	rec := &riskmeshv1.QueryRecord{QueryId: "q1", Period: 3, State: riskmeshv1.QueryState_QUERY_STATE_COMPLETE,
		Result: &riskmeshv1.QueryResult{QueryId: "q1"}, ProviderResults: added}
	must(t, s.update(rec, []saved{{spend: 3}, {spend: 4}}, added, true))
	spend, err := s.spend()
	must(t, err)
	if spend[3] != 7 {
		t.Fatalf("spend %v after two parts of 3 and 4 in period 3, want 7", spend)
	}
	got := rc.of("q1")
	if len(got) != 3 || got[0].ProviderResult.GetProvider() != "P1MSP" || got[1].ProviderResult.GetProvider() != "P2MSP" ||
		got[2].Type != riskmeshv1.PushEventType_PUSH_EVENT_TYPE_QUERY_RESULT {
		t.Fatalf("events %v, want P1's part, P2's part, then the result", got)
	}

	rc.fail = riskmeshv1.PushEventType_PUSH_EVENT_TYPE_QUERY_RESULT
	rec2 := &riskmeshv1.QueryRecord{QueryId: "q2", Period: 3, Result: &riskmeshv1.QueryResult{QueryId: "q2"}, ProviderResults: added}
	if err := s.update(rec2, []saved{{spend: 5}, {spend: 6}}, added, true); !errors.Is(err, errRecorder) {
		t.Fatalf("update with the result's event refused returned %v, want the recorder's error", err)
	}
	if spend, err = s.spend(); err != nil || spend[3] != 7 {
		t.Fatalf("spend %v (%v) after a refused change, want still 7", spend, err)
	}
	if _, err := s.get("q2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("record of the refused change: %v, want not found", err)
	}
}
