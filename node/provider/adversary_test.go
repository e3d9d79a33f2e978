package provider

import (
	"crypto/rand"
	"errors"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// The dishonest member plays against the money rules here through the
// real provider, over QUIC, on the real contract (embedded ledger): a
// requester that skips its own node's budget check, a requester suspended
// with answers already given, a request for a period in grace, and a
// close that must see what a provider's journal still holds.

const provider2MSP = "Provider2MSP"

// secondProvider registers another provider institution on f's ledger and
// returns its provider (no list: evaluate needs only its key) and key.
func (f *fixture) secondProvider(t *testing.T) (*Provider, *oprf.PrivateKey) {
	t.Helper()
	must(t, f.regulator.AddInstitution(f.ctx, provider2MSP, "Provider 2", []accounting.Role{accounting.RoleProvider}))
	l, err := f.store.As(provider2MSP)
	must(t, err)
	k, pub, err := ecsig.GenerateKey(rand.Reader)
	must(t, err)
	must(t, l.UpdateProfile(f.ctx, accounting.Profile{SigningKey: pub}))
	dir := registry.New(l, registry.Options{})
	must(t, dir.Refresh(f.ctx))
	db, err := bolt.Open(filepath.Join(t.TempDir(), "node2.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	must(t, err)
	t.Cleanup(func() { db.Close() })
	key, err := oprf.GenerateKey(nil)
	must(t, err)
	p, err := New(Config{
		MSPID: provider2MSP, Ledger: l, Directory: dir, Keys: map[string]*oprf.PrivateKey{category: key},
		Sign: ecsig.NewSigner(k, rand.Reader), DB: db, DataDir: filepath.Join(t.TempDir(), "data2"),
	})
	must(t, err)
	must(t, p.refreshExposures(f.ctx))
	return p, key
}

// flushOutbox records p's journal on the ledger (fixture.flush for a
// provider other than f.p).
func flushOutbox(t *testing.T, f *fixture, p *Provider) {
	t.Helper()
	saved := f.p
	f.p = p
	f.flush()
	f.p = saved
}

// billed returns what the requester was billed in period 1 on the ledger.
func (f *fixture) billed(t *testing.T) int64 {
	t.Helper()
	xs, err := f.regulator.Exposures(f.ctx)
	must(t, err)
	for _, x := range xs {
		if x.MSPID == requesterMSP {
			return x.Unsettled
		}
	}
	t.Fatal("requester not in the exposures")
	return 0
}

// TestAdversaryRequesterPastItsLimit plays a requester that skips its own
// node's budget check and fires one-item requests (2 tokens each) at a
// provider, all at once, with an overdraft limit of 10 tokens: exactly 5
// are answered, every other one is refused OVER_LIMIT before anything is
// evaluated or journalled, and the ledger bills exactly the limit.
func TestAdversaryRequesterPastItsLimit(t *testing.T) {
	f := newFixture(t, nil)
	const limit = 10
	must(t, f.regulator.SetLimit(f.ctx, requesterMSP, limit))
	f.refresh()
	conn := f.serveQUIC(t, f.p)
	const tries = 12
	queries := make([]*query, tries)
	for i := range queries {
		queries[i] = f.newQuery(1, 0, phone)
	}
	answered, refused := 0, 0
	sendAll(conn, queries, func(_ *query, resp *riskmeshv1.PeerResponse) {
		switch {
		case resp.GetEvaluate() != nil:
			answered++
		case resp.GetError().GetCode() == codeOverLimit:
			refused++
		default:
			t.Errorf("unexpected answer %v", resp)
		}
	})
	if answered != limit/price || refused != tries-limit/price {
		t.Fatalf("%d answered and %d refused, want %d and %d", answered, refused, limit/price, tries-limit/price)
	}
	if d := f.p.OutboxDepth(); d != limit/price {
		t.Fatalf("%d entries journalled for %d answers", d, answered)
	}
	f.flush()
	f.refresh()
	if got := f.billed(t); got != limit {
		t.Fatalf("ledger bills %d, want the limit %d", got, limit)
	}
	wantCode(t, conn(f.newQuery(1, 0, phone).req), codeOverLimit)
}

// TestAdversaryRequesterAcrossProviders plays the same requester against
// two providers at once. Between two exposure refreshes a provider knows
// its own bills but not the other's, so the worst overshoot is what the
// other providers bill in that window, at most their headroom at their
// last refresh: (providers - 1) x headroom (docs/ledger.md). With a
// refresh (and a flushed outbox) between requests there is none.
func TestAdversaryRequesterAcrossProviders(t *testing.T) {
	f := newFixture(t, nil)
	const limit = 20
	must(t, f.regulator.SetLimit(f.ctx, requesterMSP, limit))
	f.refresh()
	p2, key2 := f.secondProvider(t)
	conn1, conn2 := f.serveQUIC(t, f.p), f.serveQUIC(t, p2)

	// No refresh in the window: each provider spends the whole headroom.
	answered := 0
	for i := 0; i < 2*limit/price+4; i++ {
		var resp *riskmeshv1.PeerResponse
		if i%2 == 0 {
			resp = conn1(f.newQuery(1, 0, phone).req)
		} else {
			resp = conn2(f.newQueryTo(provider2MSP, key2, 1, 0, phone).req)
		}
		if resp.GetEvaluate() != nil {
			answered++
		} else if resp.GetError().GetCode() != codeOverLimit {
			t.Fatalf("request %d: %v", i, resp)
		}
	}
	flushOutbox(t, f, f.p)
	flushOutbox(t, f, p2)
	billed := f.billed(t)
	overshoot := billed - limit
	t.Logf("no refresh in the window: %d answers, %d billed, overshoot %d tokens (bound %d)", answered, billed, overshoot, (2-1)*limit)
	if answered != 2*limit/price || overshoot < 0 || overshoot > (2-1)*limit {
		t.Fatalf("overshoot %d outside 0..%d", overshoot, limit)
	}
	f.refresh()
	must(t, p2.refreshExposures(f.ctx))
	wantCode(t, conn1(f.newQuery(1, 0, phone).req), codeOverLimit)
	wantCode(t, conn2(f.newQueryTo(provider2MSP, key2, 1, 0, phone).req), codeOverLimit)

	// A refresh after every answer: the providers see each other's bills
	// and together stop at the limit.
	const room = 10
	must(t, f.regulator.SetLimit(f.ctx, requesterMSP, billed+room))
	f.refresh()
	must(t, p2.refreshExposures(f.ctx))
	for i := 0; i < room/price+3; i++ {
		if i%2 == 0 {
			conn1(f.newQuery(1, 0, phone).req)
		} else {
			conn2(f.newQueryTo(provider2MSP, key2, 1, 0, phone).req)
		}
		flushOutbox(t, f, f.p)
		flushOutbox(t, f, p2)
		f.refresh()
		must(t, p2.refreshExposures(f.ctx))
	}
	if got := f.billed(t) - billed; got != room {
		t.Fatalf("with a refresh per answer %d tokens billed on %d of room", got, room)
	}
}

// TestAdversarySuspendedRequesterKeepsItsBills plays a requester that is
// suspended after it got its answers: the provider's bills for them still
// record, while its new requests are refused.
func TestAdversarySuspendedRequesterKeepsItsBills(t *testing.T) {
	f := newFixture(t, nil)
	for range 3 {
		if f.handle(f.newQuery(1, 0, phone).req).GetEvaluate() == nil {
			t.Fatal("evaluate refused")
		}
	}
	must(t, f.regulator.SuspendInstitution(f.ctx, requesterMSP))
	f.refresh()
	wantCode(t, f.handle(f.newQuery(1, 0, phone).req), codeSuspended)
	f.flush()
	if f.p.Outbox().DeadCount() != 0 || f.p.Outbox().Recorded() != 3 {
		t.Fatalf("%d recorded, %d dead: the bills for answers given before the suspension were voided",
			f.p.Outbox().Recorded(), f.p.Outbox().DeadCount())
	}
	if got := f.billed(t); got != 3*price {
		t.Fatalf("ledger bills %d, want %d", got, 3*price)
	}
}

// TestAdversaryGraceWindowAndClose plays the end of a period: a requester
// that sends a brand-new request for the period in grace is refused
// (nothing journalled); the provider's journal still holds an answer of the
// period, which it reports on the ledger, so the regulator's close is
// refused until the journal drained; a provider that never drains holds
// the close only until the regulator forces it.
func TestAdversaryGraceWindowAndClose(t *testing.T) {
	f := newFixture(t, nil)
	if f.handle(f.newQuery(1, 0, phone).req).GetEvaluate() == nil {
		t.Fatal("evaluate refused")
	}
	_, err := f.regulator.Rollover(f.ctx)
	must(t, err)
	f.refresh()
	wantCode(t, f.handle(f.newQuery(1, 0, phone).req), codeStale)
	if d := f.p.OutboxDepth(); d != 1 {
		t.Fatalf("%d entries journalled, want the one answered before the rollover", d)
	}

	f.p.reportBacklog(f.ctx)
	reports, err := f.regulator.Backlogs(f.ctx, 1)
	must(t, err)
	if len(reports) != 1 || reports[0].MSPID != providerMSP || reports[0].Pending != 1 {
		t.Fatalf("backlog reports %+v, want the provider's 1 pending entry", reports)
	}
	if err := f.regulator.ClosePeriod(f.ctx, 1); !errors.Is(err, accounting.ErrFailedPrecondition) {
		t.Fatalf("close with a reported backlog: %v", err)
	}
	f.flush()
	f.p.reportBacklog(f.ctx)
	must(t, f.regulator.ClosePeriod(f.ctx, 1))
	if got := f.billed(t); got != price {
		t.Fatalf("ledger bills %d for period 1, want %d: the answer given before the close was lost", got, price)
	}

	// Period 2: a backlog reported and never drained.
	if f.handle(f.newQuery(2, 0, phone).req).GetEvaluate() == nil {
		t.Fatal("evaluate refused")
	}
	_, err = f.regulator.Rollover(f.ctx)
	must(t, err)
	f.refresh()
	f.p.reportBacklog(f.ctx)
	if err := f.regulator.ClosePeriod(f.ctx, 2); !errors.Is(err, accounting.ErrFailedPrecondition) {
		t.Fatalf("close with a reported backlog: %v", err)
	}
	must(t, f.regulator.ForceClosePeriod(f.ctx, 2))
	p, err := f.regulator.Period(f.ctx, 2)
	must(t, err)
	if len(p.Undrained) != 1 || p.Undrained[0].MSPID != providerMSP || p.Undrained[0].Pending != 1 {
		t.Fatalf("forced close keeps %+v, want the provider's backlog", p.Undrained)
	}
}

// TestAdversaryRacedSequenceNumber plays a requester that sends several
// different requests under one sequence number at once, beside its
// ordinary requests, so that they pass the replay lookup together and meet
// in the journal's shared commits (docs/node-provider.md, "Evaluate:
// checks in order"). Exactly one of them is answered and billed, the
// others are refused REPLAYED, and every ordinary request is answered and
// billed once: the refusals take nothing of what shares their commit.
func TestAdversaryRacedSequenceNumber(t *testing.T) {
	f := newFixture(t, nil)
	conn := f.serveQUIC(t, f.p)
	const raced, ordinary = 6, 10
	seq := f.newQuery(1, 0, phone).header.Sequence + 1000
	var queries []*query
	for range raced {
		queries = append(queries, f.newQuery(1, seq, phone))
	}
	for range ordinary {
		queries = append(queries, f.newQuery(1, 0, phone))
	}
	var answeredRaced, replayed, answered int
	sendAll(conn, queries, func(q *query, resp *riskmeshv1.PeerResponse) {
		switch {
		case resp.GetEvaluate() != nil && q.header.Sequence == seq:
			answeredRaced++
		case resp.GetEvaluate() != nil:
			answered++
		case resp.GetError().GetCode() == codeReplayed && q.header.Sequence == seq:
			replayed++
		default:
			t.Errorf("sequence %d: unexpected answer %v", q.header.Sequence, resp)
		}
	})
	if answeredRaced != 1 || replayed != raced-1 || answered != ordinary {
		t.Fatalf("raced: %d answered, %d replayed; ordinary: %d answered; want 1, %d, %d", answeredRaced, replayed, answered, raced-1, ordinary)
	}
	if d := f.p.OutboxDepth(); d != 1+ordinary {
		t.Fatalf("%d entries journalled, want %d", d, 1+ordinary)
	}
	f.flush()
	f.refresh()
	if got := f.billed(t); got != (1+ordinary)*price {
		t.Fatalf("ledger bills %d, want %d", got, (1+ordinary)*price)
	}
}

// sendAll sends every query's request over conn at once and hands each
// response to tally, one at a time.
func sendAll(conn exchange, queries []*query, tally func(*query, *riskmeshv1.PeerResponse)) {
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, q := range queries {
		wg.Go(func() {
			resp := conn(q.req)
			mu.Lock()
			defer mu.Unlock()
			tally(q, resp)
		})
	}
	wg.Wait()
}

// TestAdversaryCopiesOfOneRequest plays a requester that sends one paid
// request many times over: eight copies at once, then four more one after
// another, inside the time the journal holds the answer before node.db has
// it (groupcommit.FoldAfter). Every copy gets the one answer, the request
// is billed once, and it is evaluated once: the copies wait for the first
// and read its answer through the journal (answering.go) instead of each
// costing an evaluation nothing bills. Proof nonces drawn count the
// evaluations.
func TestAdversaryCopiesOfOneRequest(t *testing.T) {
	nonces := &countingReader{r: rand.Reader}
	f := newFixture(t, func(c *Config) { c.Rand = nonces })
	conn := f.serveQUIC(t, f.p)
	// What one evaluation draws, from a request of its own.
	if conn(f.newQuery(1, 0, phones(200)...).req).GetEvaluate() == nil {
		t.Fatal("the reference request was refused")
	}
	one := nonces.reads()

	q := f.newQuery(1, 0, phones(200)...)
	copies := make([]*query, 8)
	for i := range copies {
		copies[i] = q
	}
	var answers []*riskmeshv1.EvaluateResponse
	sendAll(conn, copies, func(_ *query, resp *riskmeshv1.PeerResponse) {
		if ev := resp.GetEvaluate(); ev != nil {
			answers = append(answers, ev)
		} else {
			t.Errorf("a copy was refused: %v", resp)
		}
	})
	for range 4 {
		answers = append(answers, conn(q.req).GetEvaluate())
	}
	for i, a := range answers {
		if !proto.Equal(a, answers[0]) {
			t.Fatalf("copy %d got another answer than the first", i)
		}
	}
	if got := nonces.reads() - one; got != one {
		t.Fatalf("12 copies of one request drew %d nonce reads, one evaluation draws %d: evaluated %.1f times", got, one, float64(got)/float64(one))
	}
	if d := f.p.OutboxDepth(); d != 2 {
		t.Fatalf("%d entries journalled, want 2 (the reference and the copied request)", d)
	}
}

// countingReader counts the reads of its reader.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	c.n.Add(1)
	return c.r.Read(b)
}

func (c *countingReader) reads() int64 { return c.n.Load() }
