package requester

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/internal/workers"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// queryIDBytes is the randomness in a query id. The id is written in lower-case
// hex (32 characters): base64url could begin with '-', which a command line
// reads as a flag, and its '-' and '_' break a double-click selection.
const queryIDBytes = 16

// queryRun is one accepted query while it runs.
type queryRun struct {
	rec     *riskmeshv1.QueryRecord
	pending *riskmeshv1.QueryResult
	batch   *normalized
	price   int64
	// mode is how providers are asked (QUERY_MODE_AUTO, _CATALOG or
	// _LIVE): the request's, or Config.Mode.
	mode riskmeshv1.QueryMode
	// period is the registry's view of the query's period, whose price
	// factors set each provider's price (priceOf).
	period   *accounting.Period
	deadline time.Time
	accepted time.Time
	// created is the creation commit of rec, which runs while the
	// query's requests are prepared: none leaves before it ended well.
	created *creation
}

// creation is a query's creation commit (store.create), in flight while
// the query's requests are blinded and signed. A request may be prepared
// before its query's record is durable, but leaves only after it
// (docs/node-requester.md, "Durability"); a query whose creation failed,
// or found its client_request_id taken, sends nothing.
type creation struct {
	done    chan struct{} // closed when the commit has ended
	earlier string        // the query its client_request_id already names
	err     error
}

func newCreation() *creation { return &creation{done: make(chan struct{})} }

// end records the commit's outcome and releases every waiter.
func (c *creation) end(earlier string, err error) {
	c.earlier, c.err = earlier, err
	close(c.done)
}

// wait blocks until the commit has ended and reports whether the query was
// created: its requests may leave.
func (c *creation) wait() bool {
	<-c.done
	return c.err == nil && c.earlier == ""
}

// Query runs a one-to-many query and streams its events to send: one
// QueryAccepted at once, one ProviderResult per provider as each
// completes, then the QueryResult. Errors before acceptance wrap
// ErrInvalidArgument or ErrOverLimit. Once accepted, the query runs to its
// end and is persisted even if send fails or ctx ends; Query then returns
// that error without waiting. A repeated client_request_id replays the
// first query's events instead of running it again.
func (r *Requester) Query(ctx context.Context, req *riskmeshv1.QueryRequest, send func(*riskmeshv1.QueryEvent) error) error {
	q, err := r.accept(req)
	if err != nil {
		return err
	}
	events := make(chan *riskmeshv1.QueryEvent, len(q.pending.Providers)+2)
	workers.Go(func() {
		defer r.wg.Done()
		r.execute(q, events)
	})
	// The requests are blinded and signed while the creation commits;
	// execute sends them only once it is durable.
	q.created.end(r.store.create(q.rec, q.pending))
	switch c := q.created; {
	case c.err != nil:
		return fmt.Errorf("requester: persist query: %w", c.err)
	case c.earlier != "":
		return r.replay(ctx, c.earlier, send)
	}
	emit := func(ev *riskmeshv1.QueryEvent) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return send(ev)
	}
	if err := emit(q.acceptedEvent()); err != nil {
		return err
	}
	for ev := range events {
		if err := emit(ev); err != nil {
			return err
		}
	}
	return nil
}

// acceptedEvent is the QueryAccepted event of q, whose creation is
// durable: the first event of its stream.
func (q *queryRun) acceptedEvent() *riskmeshv1.QueryEvent {
	return &riskmeshv1.QueryEvent{Body: &riskmeshv1.QueryEvent_Accepted{Accepted: &riskmeshv1.QueryAccepted{
		QueryId: q.rec.QueryId, Providers: q.providers(), ValidIdentifiers: uint32(q.batch.valid),
		Period: q.rec.Period, CreatedAt: q.rec.CreatedAt,
	}}}
}

// providers names the providers q asks, in the order it was given them.
func (q *queryRun) providers() []string {
	names := make([]string, len(q.pending.Providers))
	for i, p := range q.pending.Providers {
		names[i] = p.Provider
	}
	return names
}

// accept validates the request, normalises the batch, picks the providers
// and counts the query as running; the caller persists it as RUNNING
// (q.created), which fails, or finds the request's client_request_id
// taken, after execute has started.
func (r *Requester) accept(req *riskmeshv1.QueryRequest) (q *queryRun, err error) {
	v := r.cfg.Directory.View()
	category := req.GetCategory()
	price, priced := v.Prices[category]
	switch n := len(req.GetIdentifiers()); {
	case len(req.GetClientRequestId()) > maxClientIDLen:
		return nil, fmt.Errorf("%w: client_request_id of %d bytes (at most %d)", ErrInvalidArgument, len(req.GetClientRequestId()), maxClientIDLen)
	case !names.Category(category) || !priced:
		return nil, fmt.Errorf("%w: category %.64q is not one the consortium prices", ErrInvalidArgument, category)
	case n == 0:
		return nil, fmt.Errorf("%w: no identifiers", ErrInvalidArgument)
	case n > r.cfg.MaxIdentifiers:
		return nil, fmt.Errorf("%w: %d identifiers, at most %d per query", ErrInvalidArgument, n, r.cfg.MaxIdentifiers)
	case v.Period.Number == 0:
		return nil, fmt.Errorf("%w: no accounting period is open yet", ErrInvalidArgument)
	case req.GetMode() < 0 || req.GetMode() > riskmeshv1.QueryMode_QUERY_MODE_LIVE:
		return nil, fmt.Errorf("%w: unknown query mode %d", ErrInvalidArgument, req.GetMode())
	}
	if a, _ := v.Account(r.cfg.MSPID); a.Flagged {
		return nil, ErrOverLimit
	}
	deadline := r.cfg.DefaultDeadline
	if d := req.GetDeadline(); d != nil {
		if err := d.CheckValid(); err != nil || d.AsDuration() < MinDeadline {
			return nil, fmt.Errorf("%w: deadline must be at least %v", ErrInvalidArgument, MinDeadline)
		}
		deadline = min(d.AsDuration(), r.cfg.MaxDeadline)
	}
	providers, err := r.chooseProviders(v, category, req.GetProviders())
	if err != nil {
		return nil, err
	}
	providers, ranking, err := r.applyQuality(req, v.Period.Number, providers)
	if err != nil {
		return nil, err
	}
	id, err := r.newQueryID()
	if err != nil {
		return nil, err
	}
	batch := normalize(r.norm, req.GetIdentifiers())
	now := r.cfg.Now()
	q = &queryRun{
		rec: &riskmeshv1.QueryRecord{
			QueryId:         id,
			State:           riskmeshv1.QueryState_QUERY_STATE_RUNNING,
			Category:        category,
			Period:          v.Period.Number,
			Identifiers:     uint32(len(req.GetIdentifiers())),
			CreatedAt:       timestamppb.New(now),
			ClientRequestId: req.GetClientRequestId(),
			Ranking:         ranking,
		},
		pending:  &riskmeshv1.QueryResult{QueryId: id, Items: batch.items},
		batch:    batch,
		price:    price,
		mode:     cmp.Or(req.GetMode(), r.cfg.Mode),
		period:   &v.Period,
		deadline: time.Now().Add(deadline), // timers run on the real clock
		accepted: now,
		created:  newCreation(),
	}
	for _, p := range providers {
		q.pending.Providers = append(q.pending.Providers, &riskmeshv1.ProviderResult{Provider: p})
	}
	// The query counts as running before its record is created, so that a
	// concurrent request with its client_request_id, which finds the
	// record once it is committed, waits for it to finish (replay). The
	// client id check and the creation are one transaction (store.create)
	// that shares its commit with concurrent queries'.
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	r.running[id] = make(chan struct{})
	r.wg.Add(1) // under mu: Close cannot be waiting yet
	return q, nil
}

// ended marks query id as no longer running, releasing its replays.
func (r *Requester) ended(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	close(r.running[id])
	delete(r.running, id)
}

// chooseProviders returns the sorted MSP ids to ask: every active provider
// of the category, or the named ones (each of which execute refuses if it
// is not an active provider of the category).
func (r *Requester) chooseProviders(v interface {
	Providers(string) []accounting.Institution
}, category string, named []string) ([]string, error) {
	var out []string
	if len(named) == 0 {
		for _, inst := range v.Providers(category) {
			if inst.MSPID != r.cfg.MSPID {
				out = append(out, inst.MSPID)
			}
		}
		return out, nil
	}
	for _, p := range named {
		if !names.MSPID(p) {
			return nil, fmt.Errorf("%w: provider %.128q is not a valid MSP id", ErrInvalidArgument, p)
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (r *Requester) newQueryID() (string, error) {
	var b [queryIDBytes]byte
	if _, err := io.ReadFull(r.cfg.Rand, b[:]); err != nil {
		return "", fmt.Errorf("requester: query id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// execute fans the query out, persists and emits each provider's result as
// it completes, then the merged result, and closes events; Query emits the
// QueryAccepted before them. The parts start while the query's creation
// commits (q.created) and send nothing before it is durable; if it fails,
// execute persists and emits nothing.
func (r *Requester) execute(q *queryRun, events chan<- *riskmeshv1.QueryEvent) {
	defer close(events)
	defer r.ended(q.rec.QueryId)
	providers := q.providers()
	ctx, cancel := context.WithDeadline(r.ctx, q.deadline)
	defer cancel()
	results := make(chan partDone, len(providers))
	ask := func(provider string) {
		res, part, held := r.ask(ctx, q, provider)
		res.Latency = durationpb.New(r.cfg.Now().Sub(q.accepted))
		results <- partDone{res, part, held}
	}
	if len(providers) == 1 {
		// The one part runs here: handing it to a worker and its result
		// back would cost two wake-ups of another core (batcher.submit).
		ask(providers[0])
	} else {
		for _, p := range providers {
			workers.Go(func() { ask(p) })
		}
	}
	if !q.created.wait() {
		// No part was sent (batcher.admit), so none was billed.
		for range providers {
			d := <-results
			r.budget.release(d.held, d.part.spend)
		}
		return
	}
	// The parts that have completed by the time a commit starts, and the
	// merged result with the last, are one commit: a crash before it
	// leaves what a crash before the first of them's own commit left
	// (docs/node-requester.md, "Durability").
	finished := func() {
		state := riskmeshv1.QueryState_QUERY_STATE_COMPLETE
		if r.ctx.Err() != nil {
			state = riskmeshv1.QueryState_QUERY_STATE_INTERRUPTED
		}
		finish(q.rec, q.pending, state, r.cfg.Now())
	}
	for left := len(providers); left > 0; {
		ready := collect(results, left, partsHold)
		left -= len(ready)
		parts := make([]saved, len(ready))
		added := make([]*riskmeshv1.ProviderResult, len(ready))
		for i, d := range ready {
			parts[i], added[i] = d.part, storable(d.res)
			q.rec.ProviderResults = append(q.rec.ProviderResults, added[i])
		}
		if left == 0 {
			finished()
		}
		r.spendMu.RLock()
		err := r.store.update(q.rec, parts, added, left == 0)
		for _, d := range ready {
			r.budget.release(d.held, d.part.spend)
		}
		r.spendMu.RUnlock()
		if err != nil {
			r.cfg.Logger.Error("persist provider results", "query", q.rec.QueryId, "err", err)
		}
		for _, pr := range added {
			events <- &riskmeshv1.QueryEvent{Body: &riskmeshv1.QueryEvent_ProviderResult{ProviderResult: pr}}
		}
	}
	if len(providers) == 0 {
		finished()
		if err := r.store.update(q.rec, nil, nil, true); err != nil {
			r.cfg.Logger.Error("persist query result", "query", q.rec.QueryId, "err", err)
		}
	}
	// The result follows the last parts' events at once, so that Query
	// takes them on one wake-up; the log line comes after both.
	amount := q.rec.Result.GetAmount()
	events <- &riskmeshv1.QueryEvent{Body: &riskmeshv1.QueryEvent_Result{Result: q.rec.Result}}
	r.cfg.Logger.Info("query complete", "query", q.rec.QueryId, "category", q.rec.Category,
		"identifiers", q.rec.Identifiers, "providers", len(providers), "amount", amount)
}

// partDone is a provider part that completed: its result, what to persist
// with it, and the budget it reserved.
type partDone struct {
	res  *riskmeshv1.ProviderResult
	part saved
	held int64
}

// partsHold is how long a query holds the parts that completed, while
// others are still due, before it commits them (collect): the parts of a
// query asked of several providers mostly arrive within a millisecond or
// two of each other, and a commit started for the first alone (two
// fdatasyncs) held the last behind it, so a three-provider query paid two
// commits in series for its parts (docs/benchmarks.md, "Where a
// one-identifier query's time goes through the daemon"). A provider that
// answers more than this after another is a slow one, and the parts before
// it are then stored and streamed without waiting for it.
const partsHold = 50 * time.Millisecond

// collect waits for one part of results, then for the others, at most left
// in all, until hold has passed since the first arrived: the parts one
// commit stores. With hold 0 it takes only the parts already there.
func collect(results <-chan partDone, left int, hold time.Duration) []partDone {
	ready := []partDone{<-results}
	var expired <-chan time.Time
	if hold > 0 && len(ready) < left {
		t := time.NewTimer(hold)
		defer t.Stop()
		expired = t.C
	}
	for len(ready) < left {
		if expired == nil {
			select {
			case d := <-results:
				ready = append(ready, d)
			default:
				return ready
			}
			continue
		}
		select {
		case d := <-results:
			ready = append(ready, d)
		case <-expired:
			return ready
		}
	}
	return ready
}

// ask runs the query's part at one provider. It returns the provider's
// result, what to persist with it, and the budget it reserved.
func (r *Requester) ask(ctx context.Context, q *queryRun, provider string) (*riskmeshv1.ProviderResult, saved, int64) {
	items := len(q.batch.ids)
	res := &riskmeshv1.ProviderResult{Provider: provider, Items: uint32(items)}
	refuse := func(code riskmeshv1.ErrorCode, format string, args ...any) (*riskmeshv1.ProviderResult, saved, int64) {
		res.Status = riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED
		res.Error = &riskmeshv1.PeerError{Code: code, Message: truncate(fmt.Sprintf(format, args...))}
		return res, saved{}, 0
	}
	v := r.cfg.Directory.View()
	active := v.Providers(q.rec.Category)
	i := slices.IndexFunc(active, func(i accounting.Institution) bool { return i.MSPID == provider })
	if i < 0 || provider == r.cfg.MSPID {
		return refuse(riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND, "%s is not an active provider of %s", provider, q.rec.Category)
	}
	if items == 0 {
		return refuse(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, "no valid identifiers to send")
	}
	inst := active[i]
	psi, keyID, ok := r.cfg.Catalogs.Ready(provider, q.rec.Category, q.rec.Period)
	if usesLive(q.mode, ok) {
		price, priced := q.livePrice(provider)
		if !priced {
			return refuse(riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND, "%s has no live price in period %d", q.rec.Category, q.rec.Period)
		}
		held := int64(items) * price
		if err := r.hold(v, held); err != nil {
			return refuse(riskmeshv1.ErrorCode_ERROR_CODE_OVER_LIMIT, "%v", err)
		}
		res.Mode = riskmeshv1.QueryMode_QUERY_MODE_LIVE
		if !q.created.wait() { // live parts are not prepared ahead
			return res, saved{}, held
		}
		outcomes := r.askLive(ctx, q, inst)
		sv := r.fill(res, q, outcomes, price)
		return res, sv, held - r.followLate(q, provider, res.Mode, price, outcomes)
	}
	if !ok {
		return refuse(riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND, "no verified catalog of %s for %s in period %d yet", provider, q.rec.Category, q.rec.Period)
	}
	held := int64(items) * q.priceOf(provider)
	if err := r.hold(v, held); err != nil {
		return refuse(riskmeshv1.ErrorCode_ERROR_CODE_OVER_LIMIT, "%v", err)
	}
	res.Mode = riskmeshv1.QueryMode_QUERY_MODE_CATALOG
	x := exchange{inst: inst, category: q.rec.Category, period: q.rec.Period, psi: psi, keyID: keyID}
	limit := r.batchLimit(provider)
	var outcomes []outcome
	if m := r.splitSize(items, limit); m > 0 {
		// A large part: pipelined exchanges of its own, not prepared
		// ahead of the creation.
		if !q.created.wait() {
			return res, saved{}, held
		}
		outcomes = r.runSplit(ctx, x, q.batch.ids, m)
	} else {
		// Parts of at most the provider's batch limit, each coalesced with
		// other queries' and prepared while the creation commits; the
		// last may go on this goroutine, the others are under way.
		var parts []*part
		for lo := 0; lo < items; lo += limit {
			p := &part{ids: q.batch.ids[lo:min(lo+limit, items)], deadline: q.deadline, created: q.created,
				done: make(chan []outcome, 1)}
			parts = append(parts, p)
			r.batcher.submit(x, p, lo+limit >= items)
		}
		for _, p := range parts {
			outcomes = append(outcomes, <-p.done...)
		}
	}
	sv := r.fill(res, q, outcomes, q.priceOf(provider))
	return res, sv, held - r.followLate(q, provider, res.Mode, q.priceOf(provider), outcomes)
}

// hold reserves amount of this node's budget for a provider part, warning
// when the spend comes within 10% of the overdraft limit.
func (r *Requester) hold(v *registry.View, amount int64) error {
	account, _ := v.Account(r.cfg.MSPID)
	warn, err := r.budget.reserve(account, amount)
	if err != nil {
		return err
	}
	if warn {
		r.cfg.Logger.Warn("spend within 10% of the overdraft limit", "limit", account.Limit, "balance", account.Balance)
	}
	return nil
}

// interruptLeftovers marks the queries a previous run left RUNNING as
// INTERRUPTED, keeping the parts of providers that had answered.
func (r *Requester) interruptLeftovers() error {
	recs, pend, err := r.store.running()
	if err != nil {
		return fmt.Errorf("requester: read running queries: %w", err)
	}
	for i, rec := range recs {
		finish(rec, pend[i], riskmeshv1.QueryState_QUERY_STATE_INTERRUPTED, r.cfg.Now())
		if err := r.store.update(rec, nil, nil, true); err != nil {
			return fmt.Errorf("requester: mark query interrupted: %w", err)
		}
	}
	if len(recs) > 0 {
		r.cfg.Logger.Warn("queries interrupted by a restart", "count", len(recs))
	}
	return nil
}

// replay sends the events of a persisted query, waiting for it to finish
// if it is still running.
func (r *Requester) replay(ctx context.Context, id string, send func(*riskmeshv1.QueryEvent) error) error {
	r.mu.Lock()
	wait := r.running[id]
	r.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	rec, err := r.store.get(id)
	if err != nil {
		return err
	}
	res := rec.GetResult()
	acc := &riskmeshv1.QueryAccepted{QueryId: rec.QueryId, Period: rec.Period, CreatedAt: rec.CreatedAt,
		ValidIdentifiers: rec.Identifiers}
	for _, p := range res.GetProviders() {
		acc.Providers = append(acc.Providers, p.Provider)
	}
	for _, it := range res.GetItems() {
		if it.InvalidReason != riskmeshv1.InvalidReason_INVALID_REASON_UNSPECIFIED {
			acc.ValidIdentifiers--
		}
	}
	events := []*riskmeshv1.QueryEvent{{Body: &riskmeshv1.QueryEvent_Accepted{Accepted: acc}}}
	for _, pr := range rec.ProviderResults {
		events = append(events, &riskmeshv1.QueryEvent{Body: &riskmeshv1.QueryEvent_ProviderResult{ProviderResult: pr}})
	}
	events = append(events, &riskmeshv1.QueryEvent{Body: &riskmeshv1.QueryEvent_Result{Result: res}})
	for _, ev := range events {
		if err := send(ev); err != nil {
			return err
		}
	}
	return nil
}
