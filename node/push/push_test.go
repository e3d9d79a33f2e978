package push

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/internal/testwait"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// start opens an outbox over a fresh file with dests and runs it until
// the test ends.
func start(t *testing.T, cfg Config) *Outbox {
	t.Helper()
	if cfg.DB == nil {
		cfg.DB = openDB(t, t.TempDir())
	}
	cfg.MSPID = "BankA"
	cfg.MinBackoff, cfg.MaxBackoff = cmpOr(cfg.MinBackoff, time.Millisecond), cmpOr(cfg.MaxBackoff, 20*time.Millisecond)
	o, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = o.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return o
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// delivered waits until the receiver has n deliveries.
func delivered(t *testing.T, rc *receiver, n int) []*riskmeshv1.PushEvent {
	t.Helper()
	testwait.Until(t, fmt.Sprintf("%d deliveries", n), 30*time.Second, func() error {
		if got := len(rc.deliveries()); got < n {
			return fmt.Errorf("%d delivered", got)
		}
		return nil
	})
	return rc.deliveries()
}

// statsUntil waits until the first destination's stats satisfy ok.
func statsUntil(t *testing.T, o *Outbox, ok func(Stats) bool) {
	t.Helper()
	testwait.Until(t, "destination stats", 30*time.Second, func() error {
		if s := o.Stats()[0]; !ok(s) {
			return fmt.Errorf("stats %+v", s)
		}
		return nil
	})
}

// Events of interleaved queries reach a webhook signed, each with the
// content recorded, in recording order per query, with one id per event
// that names its node, stream and place in the stream.
func TestWebhookDelivery(t *testing.T) {
	rc := newReceiver(t)
	o := start(t, Config{Destinations: []Destination{{Name: "core-banking", Sender: rc.webhook(t)}}})
	var want []*riskmeshv1.PushEvent
	for i := range 12 {
		want = append(want, record(t, o, providerPart(fmt.Sprintf("q%d", i%3), fmt.Sprintf("P%d", i), int64(i))))
	}
	got := delivered(t, rc, len(want))
	for i, ev := range got {
		if !proto.Equal(ev, want[i]) {
			t.Fatalf("delivery %d is %v, want %v", i, ev, want[i])
		}
	}
	for stream, seqs := range firsts(t, got) {
		if !slices.Equal(seqs, []uint64{1, 2, 3, 4}) {
			t.Errorf("stream %s delivered as %v, want 1 to 4 in order", stream, seqs)
		}
	}
	if got[0].EventId != eventID("BankA", "q0", 1) || got[0].EventId == eventID("BankB", "q0", 1) || got[0].EventId == got[3].EventId {
		t.Errorf("event id %s is not the one of BankA's q0 #1, or is shared", got[0].EventId)
	}
	// The receiver may hold an event before the node has read its answer.
	statsUntil(t, o, func(s Stats) bool { return s.Delivered == 12 && s.Depth == 0 && s.Dead == 0 && s.LastError == nil })
}

// A destination takes only its event types and categories; an event no
// destination takes is not stored.
func TestDestinationFilters(t *testing.T) {
	results, fraud := newReceiver(t), newReceiver(t)
	o := start(t, Config{Destinations: []Destination{
		{Name: "results", Sender: results.webhook(t), Events: []riskmeshv1.PushEventType{riskmeshv1.PushEventType_PUSH_EVENT_TYPE_QUERY_RESULT}},
		{Name: "aml", Sender: fraud.webhook(t), Categories: []string{"aml"}},
	}})
	record(t, o, providerPart("q1", "P1", 1)) // fraud part: nobody
	reconciled := record(t, o, &riskmeshv1.PushEvent{Type: riskmeshv1.PushEventType_PUSH_EVENT_TYPE_RECONCILED,
		Reconciled: &riskmeshv1.ReconciledEntry{Key: &riskmeshv1.EntryKey{Period: 7, Requester: "BankA", Responder: "P1", Sequence: 9}}})
	result := record(t, o, &riskmeshv1.PushEvent{Type: riskmeshv1.PushEventType_PUSH_EVENT_TYPE_QUERY_RESULT, QueryId: "q2", Category: "aml",
		Result: &riskmeshv1.QueryResult{QueryId: "q2", Amount: 5}})
	if got := delivered(t, results, 1); len(got) != 1 || got[0].EventId != result.EventId {
		t.Fatalf("results destination got %v", got)
	}
	got := delivered(t, fraud, 2)
	if got[0].EventId != reconciled.EventId || got[0].Stream != "entry/7/P1/9" || got[1].EventId != result.EventId {
		t.Fatalf("aml destination got %v, want the reconciliation event, then the aml result", got)
	}
	testwait.Until(t, "queues drained", 10*time.Second, func() error {
		for _, s := range o.Stats() {
			if s.Depth != 0 {
				return fmt.Errorf("%s has %d waiting", s.Destination, s.Depth)
			}
		}
		return nil
	})
	var stored int
	_ = o.cfg.DB.View(func(tx *bolt.Tx) error { stored = tx.Bucket(bucketEvents).Stats().KeyN; return nil })
	if stored != 0 {
		t.Errorf("%d events still stored after every destination delivered them", stored)
	}
}

// A receiver that fails for a while gets the event once it recovers; the
// failures are counted as retries, with back-off drawn from Config.Rand.
func TestWebhookRetries(t *testing.T) {
	rc := newReceiver(t)
	fails := 3
	rc.reject = func(*riskmeshv1.PushEvent) int {
		if fails > 0 {
			fails--
			return http.StatusServiceUnavailable
		}
		return 0
	}
	o := start(t, Config{Destinations: []Destination{{Name: "hook", Sender: rc.webhook(t)}}})
	ev := record(t, o, providerPart("q1", "P1", 3))
	if got := delivered(t, rc, 1); !proto.Equal(got[0], ev) {
		t.Fatalf("got %v", got[0])
	}
	statsUntil(t, o, func(s Stats) bool { return s.Retried == 3 && s.Delivered == 1 && s.Dead == 0 })
}

// The back-off doubles up to its cap, with the jitter taken from
// Config.Rand within the upper half.
func TestBackoffJitter(t *testing.T) {
	for _, tc := range []struct {
		rand     byte
		failures int
		want     time.Duration
	}{
		{0x00, 1, 50 * time.Millisecond},
		{0x00, 3, 200 * time.Millisecond},
		{0x00, 30, 500 * time.Millisecond},
		{0xff, 30, time.Second/2 + time.Duration(^uint64(0)%uint64(time.Second/2+1))},
	} {
		o := &Outbox{cfg: Config{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second,
			Rand: bytes.NewReader(bytes.Repeat([]byte{tc.rand}, 8))}}
		if got := o.wait(tc.failures); got != tc.want {
			t.Errorf("wait(%d) with rand %#x = %v, want %v", tc.failures, tc.rand, got, tc.want)
		}
		if got := o.wait(tc.failures); got != backoffCap(o, tc.failures) {
			t.Errorf("wait with Rand exhausted = %v, want the un-jittered %v", got, backoffCap(o, tc.failures))
		}
	}
}

func backoffCap(o *Outbox, failures int) time.Duration {
	d := o.cfg.MinBackoff
	for i := 1; i < failures && d < o.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, o.cfg.MaxBackoff)
}

// An event the receiver refuses (a 4xx) dies at once, one that keeps
// failing dies after MaxAttempts; the queue goes on behind them, and a
// replay delivers them in their original place once the receiver takes
// them.
func TestDeadAndReplay(t *testing.T) {
	rc := newReceiver(t)
	refuse := map[string]int{"q-refused": http.StatusUnprocessableEntity, "q-failing": http.StatusBadGateway}
	rc.reject = func(ev *riskmeshv1.PushEvent) int { return refuse[ev.QueryId] }
	o := start(t, Config{MaxAttempts: 3, Destinations: []Destination{{Name: "hook", Sender: rc.webhook(t)}}})
	refused := record(t, o, providerPart("q-refused", "P1", 1))
	failing := record(t, o, providerPart("q-failing", "P1", 1))
	fine := record(t, o, providerPart("q-fine", "P1", 1))
	if got := delivered(t, rc, 1); got[0].EventId != fine.EventId {
		t.Fatalf("delivered %v", got)
	}
	// 2 killed, and 2 retries of the failing one before its third attempt.
	statsUntil(t, o, func(s Stats) bool { return s.Dead == 2 && s.Depth == 0 && s.Killed == 2 && s.Retried == 2 })
	dead, err := o.Dead("", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 2 || dead[0].EventId != refused.EventId || dead[0].Attempts != 1 || dead[0].Stream != "q-refused" ||
		dead[1].EventId != failing.EventId || dead[1].Attempts != 3 || dead[1].LastError != "webhook: status 502" {
		t.Fatalf("dead events %v, want the refused one after 1 attempt and the failing one after 3", dead)
	}
	if _, err := o.Replay("nowhere", nil); !errors.Is(err, ErrUnknownDestination) {
		t.Errorf("replay to an unknown destination: %v", err)
	}

	rc.mu.Lock()
	delete(refuse, "q-failing")
	rc.mu.Unlock()
	if n, err := o.Replay("hook", []string{failing.EventId}); err != nil || n != 1 {
		t.Fatalf("replay of one event = %d, %v", n, err)
	}
	if got := delivered(t, rc, 2); !proto.Equal(got[1], failing) {
		t.Fatalf("replayed delivery %v, want %v", got[1], failing)
	}
	rc.mu.Lock()
	clear(refuse)
	rc.mu.Unlock()
	if n, err := o.Replay("hook", nil); err != nil || n != 1 {
		t.Fatalf("replay of the rest = %d, %v", n, err)
	}
	if got := delivered(t, rc, 3); !proto.Equal(got[2], refused) {
		t.Fatalf("replayed delivery %v, want %v", got[2], refused)
	}
	if dead, _ := o.Dead("hook", 0); len(dead) != 0 {
		t.Fatalf("dead after replay: %v", dead)
	}
}

// The queue survives a restart: what was recorded and not delivered is
// delivered by the next Outbox over the same file.
func TestRestartDeliversPending(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	rc := newReceiver(t)
	o, err := Open(Config{DB: db, MSPID: "BankA", Destinations: []Destination{{Name: "hook", Sender: rc.webhook(t)}}})
	if err != nil {
		t.Fatal(err)
	}
	ev := record(t, o, providerPart("q1", "P1", 1))
	if s := o.Stats()[0]; s.Depth != 1 {
		t.Fatalf("depth %d before Run", s.Depth)
	}
	o2 := start(t, Config{DB: db, Destinations: []Destination{{Name: "hook", Sender: rc.webhook(t)}}})
	if got := delivered(t, rc, 1); !proto.Equal(got[0], ev) {
		t.Fatalf("got %v", got[0])
	}
	if again := record(t, o2, providerPart("q1", "P2", 1)); again.StreamSequence != 2 {
		t.Fatalf("stream sequence after restart %d, want 2", again.StreamSequence)
	}
}

// Failed attempts are counted in node.db: an Outbox that stops after some
// failed deliveries of an event and restarts with MaxAttempts one above
// them kills the event at its first attempt there, not after MaxAttempts
// more; a replay gives it a full count again.
func TestAttemptsSurviveRestart(t *testing.T) {
	db := openDB(t, t.TempDir())
	rc := newReceiver(t)
	rc.reject = func(*riskmeshv1.PushEvent) int { return http.StatusBadGateway }
	cfg := Config{DB: db, MSPID: "BankA", MaxAttempts: 1000, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
		Destinations: []Destination{{Name: "hook", Sender: rc.webhook(t)}}}
	o, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ev := record(t, o, providerPart("q1", "P1", 1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = o.Run(ctx); close(done) }()
	testwait.Until(t, "failed attempts on record", 30*time.Second, func() error {
		if n := storedAttempts(t, o); n < 2 {
			return fmt.Errorf("%d attempts on record", n)
		}
		return nil
	})
	cancel()
	<-done
	before := storedAttempts(t, o)
	if before < 2 || before >= cfg.MaxAttempts {
		t.Fatalf("%d attempts on record after stopping", before)
	}

	cfg.MaxAttempts = before + 1
	o2 := start(t, cfg)
	statsUntil(t, o2, func(s Stats) bool { return s.Dead == 1 && s.Depth == 0 })
	if s := o2.Stats()[0]; s.Retried != 0 || s.Killed != 1 {
		t.Fatalf("after restart: %+v, want the event killed at its first attempt there", s)
	}
	dead, err := o2.Dead("hook", 0)
	if err != nil || len(dead) != 1 || dead[0].EventId != ev.EventId || int(dead[0].Attempts) != before+1 {
		t.Fatalf("dead %v, %v: want the event after %d attempts in all", dead, err, before+1)
	}
	if n, err := o2.Replay("hook", nil); err != nil || n != 1 {
		t.Fatalf("replay = %d, %v", n, err)
	}
	// Replayed, it has its full count: before more retries, then death.
	statsUntil(t, o2, func(s Stats) bool { return s.Killed == 2 && s.Retried == uint64(before) })
}

// storedAttempts reads the attempt count of the first destination's head
// event from node.db.
func storedAttempts(t *testing.T, o *Outbox) int {
	t.Helper()
	n := -1
	if err := o.cfg.DB.View(func(tx *bolt.Tx) error {
		if _, v := tx.Bucket(o.dests[0].pending).Cursor().First(); v != nil {
			n = decodeAttempts(v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// PruneTx forgets the streams of the pruned queries and of the entries of
// earlier periods (by number, not by name: period 12 is not before 4),
// keeps the rest counting, and leaves queued events to be delivered.
func TestPruneForgetsStreams(t *testing.T) {
	rc := newReceiver(t)
	o := start(t, Config{Destinations: []Destination{{Name: "hook", Sender: rc.webhook(t)}}})
	entry := func(period uint64) *riskmeshv1.PushEvent {
		return &riskmeshv1.PushEvent{Type: riskmeshv1.PushEventType_PUSH_EVENT_TYPE_RECONCILED,
			Reconciled: &riskmeshv1.ReconciledEntry{Key: &riskmeshv1.EntryKey{Period: period, Requester: "BankA", Responder: "P1", Sequence: 1}}}
	}
	record(t, o, providerPart("q1", "P1", 1))
	record(t, o, providerPart("q2", "P1", 1))
	record(t, o, entry(3))
	record(t, o, entry(12))
	if err := o.cfg.DB.Update(func(tx *bolt.Tx) error { return o.PruneTx(tx, []string{"q1"}, 4) }); err != nil {
		t.Fatal(err)
	}
	var left []string
	_ = o.cfg.DB.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketStreams).ForEach(func(k, _ []byte) error { left = append(left, string(k)); return nil })
	})
	if !slices.Equal(left, []string{"entry/12/P1/1", "q2"}) {
		t.Fatalf("streams left %v, want entry/12/P1/1 and q2", left)
	}
	if next := record(t, o, providerPart("q2", "P2", 1)); next.StreamSequence != 2 {
		t.Fatalf("a kept stream went on at %d, want 2", next.StreamSequence)
	}
	dispute := record(t, o, &riskmeshv1.PushEvent{Type: riskmeshv1.PushEventType_PUSH_EVENT_TYPE_DISPUTE,
		Dispute: &riskmeshv1.ExchangeDispute{Key: &riskmeshv1.EntryKey{Period: 3, Requester: "BankA", Responder: "P1", Sequence: 2},
			State: riskmeshv1.DisputeState_DISPUTE_STATE_PENDING}})
	if dispute.Stream != "dispute/3/P1/2" {
		t.Fatalf("dispute stream %q", dispute.Stream)
	}
	if err := o.cfg.DB.Update(func(tx *bolt.Tx) error {
		return o.ForgetDisputesTx(tx, []*riskmeshv1.EntryKey{dispute.Dispute.Key})
	}); err != nil {
		t.Fatal(err)
	}
	if again := record(t, o, proto.Clone(dispute).(*riskmeshv1.PushEvent)); again.StreamSequence != 1 {
		t.Fatalf("a forgotten dispute stream went on at %d", again.StreamSequence)
	}
	delivered(t, rc, 7)
}

func TestOpenRefusesBadConfig(t *testing.T) {
	db := openDB(t, t.TempDir())
	hook := newReceiver(t).webhook(t)
	for name, cfg := range map[string]Config{
		"no db":          {MSPID: "BankA"},
		"bad msp":        {DB: db, MSPID: "Bank A"},
		"negative":       {DB: db, MSPID: "BankA", MaxAttempts: -1},
		"bad name":       {DB: db, MSPID: "BankA", Destinations: []Destination{{Name: "a/b", Sender: hook}}},
		"twice":          {DB: db, MSPID: "BankA", Destinations: []Destination{{Name: "a", Sender: hook}, {Name: "a", Sender: hook}}},
		"without sender": {DB: db, MSPID: "BankA", Destinations: []Destination{{Name: "a"}}},
	} {
		if _, err := Open(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: Open = %v, want ErrConfig", name, err)
		}
	}
	for name, cfg := range map[string]WebhookConfig{
		"http":         {URL: "http://example.com/x", Secret: testSecret},
		"no host":      {URL: "https:///x", Secret: testSecret},
		"short secret": {URL: "https://example.com/x", Secret: testSecret[:31]},
	} {
		if _, err := NewWebhook(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: NewWebhook = %v, want ErrConfig", name, err)
		}
	}
}

// countingDB counts the outbox's writes to its database.
type countingDB struct {
	*bolt.DB
	writes atomic.Int64
}

func (c *countingDB) Update(fn func(*bolt.Tx) error) error {
	c.writes.Add(1)
	return c.DB.Update(fn)
}

// A queue is read and marked delivered a batch at a time: 150 waiting
// events take a few journal writes, not one each. A delivery that fails in
// the middle of a batch marks the events sent before it first, so none of
// them is sent again, and the failed one is retried in its place.
func TestDeliveredEventsAreMarkedInBatches(t *testing.T) {
	const n, failing = 150, 100
	rc := newReceiver(t)
	calls := 0
	rc.reject = func(*riskmeshv1.PushEvent) int {
		if calls++; calls == failing {
			return http.StatusServiceUnavailable
		}
		return 0
	}
	db := &countingDB{DB: openDB(t, t.TempDir())}
	o, err := Open(Config{DB: db, MSPID: "BankA", MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
		Destinations: []Destination{{Name: "hook", Sender: rc.webhook(t)}}})
	if err != nil {
		t.Fatal(err)
	}
	var want []*riskmeshv1.PushEvent
	for i := range n {
		want = append(want, record(t, o, providerPart(fmt.Sprintf("q%d", i%7), fmt.Sprintf("P%d", i), int64(i))))
	}
	before := db.writes.Load()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = o.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	statsUntil(t, o, func(s Stats) bool { return s.Delivered == n && s.Depth == 0 })
	got := rc.deliveries()
	if len(got) != n {
		t.Fatalf("%d deliveries accepted, want each of the %d events once", len(got), n)
	}
	for i, ev := range got {
		if !proto.Equal(ev, want[i]) {
			t.Fatalf("delivery %d is %v, want %v", i, ev, want[i])
		}
	}
	if s := o.Stats()[0]; s.Retried != 1 || s.Dead != 0 {
		t.Errorf("stats %+v, want the one failure retried and nothing dead", s)
	}
	// Three batches: the first whole, the second marked up to the failure,
	// then the failure's count, the rest in a third.
	if w := db.writes.Load() - before; w > n/batchEvents+3 {
		t.Errorf("%d journal writes to deliver %d events, want at most %d", w, n, n/batchEvents+3)
	}
}
