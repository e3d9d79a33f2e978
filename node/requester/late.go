package requester

// Late answers. A provider bills a request when it answers it, so an
// answer lost on the way back just before a query's deadline would leave
// the provider paid for something the query reports UNAVAILABLE. When an
// exchange ends at its deadline after its request may have reached the
// provider, a late fetch goes on sending the identical request: a provider
// that answered it returns its stored answer and bills nothing more
// (node/provider's replay rule), one that did not either answers now or
// refuses. A late answer is verified like any other and replaces the
// provider's part in the query's stored record. Fetches live in memory
// only: the blinds that turn an answer into hits are never written to
// disk, so a restart drops them.

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/backoff"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// lateNote ends the error of a provider part handed to a late fetch, so
// the caller of Query knows the stored record may still change.
const lateNote = "; the node keeps asking for a late answer (GetQuery shows it if one comes)"

// Why a late fetch ended without an answer, as its context's cause.
var (
	errLateWindow  = errors.New("no late answer within the late-answer window")
	errLateDropped = errors.New("late request dropped: too many pending")
)

// lateFetch is one request still asked after its deadline: the exchange,
// its signed request exactly as sent, and fetch, which asks for the
// answer: fetchLate with what opens it (a catalog exchange's blinding
// state, or a live exchange's POPRF finalisation and homomorphic step),
// or, for a live exchange whose POPRF step was answered, the homomorphic
// step alone (live.go).
type lateFetch struct {
	x     exchange
	req   *signedRequest
	sent  uint32 // attempts before the deadline, where the back-off resumes
	fetch func(*lateFetch) outcome

	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{} // closed once out is set
	out    outcome       // over all of x.ids; attempts counts late ones only
}

// lateFetches is the set of pending late fetches, oldest first, at most
// Config.MaxLateAnswers.
type lateFetches struct {
	mu      sync.Mutex
	pending []*lateFetch
	// changed is closed and replaced when a fetch ends or updates a
	// record, for whoever waits on late answers (the tests).
	changed chan struct{}
	// answered and givenUp count the fetches that ended, by how.
	answered, givenUp atomic.Uint64
}

// LateAnswers reports the late fetches (see "Late answers" in
// docs/node-requester.md): how many are pending, and how many ended with
// an answer (answered or disputed) or without one since the node started.
func (r *Requester) LateAnswers() (pending int, answered, givenUp uint64) {
	l := &r.late
	l.mu.Lock()
	pending = len(l.pending)
	l.mu.Unlock()
	return pending, l.answered.Load(), l.givenUp.Load()
}

// startLate hands the request of exchange x, sent attempts times without
// an answer, to a new late fetch, dropping the oldest pending one if the
// bound is reached.
func (r *Requester) startLate(x exchange, req *signedRequest, sent uint32, fetch func(*lateFetch) outcome) *lateFetch {
	l := &r.late
	parent, cancel := context.WithCancelCause(r.ctx)
	ctx, stop := context.WithTimeoutCause(parent, r.cfg.LateAnswerWindow, errLateWindow)
	f := &lateFetch{x: x, req: req, sent: sent, fetch: fetch, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	l.mu.Lock()
	if len(l.pending) >= r.cfg.MaxLateAnswers {
		oldest := l.pending[0]
		l.pending = slices.Delete(l.pending, 0, 1)
		oldest.cancel(errLateDropped)
		r.cfg.Logger.Warn("late request dropped: too many pending", "provider", oldest.x.inst.MSPID,
			"period", oldest.x.period, "sequence", oldest.req.header.Sequence, "max", r.cfg.MaxLateAnswers)
	}
	l.pending = append(l.pending, f)
	l.mu.Unlock()
	r.wg.Add(1) // from an exchange's goroutine: Close is not waiting on a zero count
	go func() {
		defer r.wg.Done()
		f.out = f.fetch(f)
		stop()
		cancel(nil)
		gaveUp := f.out.status == riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE
		if gaveUp {
			l.givenUp.Add(1)
		} else {
			l.answered.Add(1)
		}
		l.remove(f)
		close(f.done)
		l.signal()
		h := &f.req.header
		if gaveUp {
			r.cfg.Logger.Info("late request given up", "provider", h.Responder, "period", h.Period,
				"sequence", h.Sequence, "reason", f.out.err.GetMessage())
			return
		}
		r.cfg.Logger.Info("late answer received", "provider", h.Responder, "period", h.Period,
			"sequence", h.Sequence, "status", f.out.status)
	}()
	return f
}

func (l *lateFetches) remove(f *lateFetch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i := slices.Index(l.pending, f); i >= 0 {
		l.pending = slices.Delete(l.pending, i, i+1)
	}
}

func (l *lateFetches) signal() {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.changed)
	l.changed = make(chan struct{})
}

// fetchLate sends f's request again, after the back-off, until it is
// answered (then answer verifies and opens the answer), definitively
// refused, its period is no longer accepted, or f.ctx ends (the window,
// the bound, the node stopping). Anything but an answer is UNAVAILABLE:
// the provider bills only what it answers.
func (r *Requester) fetchLate(f *lateFetch, answer func(context.Context, *riskmeshv1.PeerResponse, uint32) outcome) outcome {
	ctx, x := f.ctx, &f.x
	var (
		attempts uint32
		hint     time.Duration
	)
	giveUp := func(code riskmeshv1.ErrorCode, msg string) outcome {
		return outcome{status: riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE,
			err: &riskmeshv1.PeerError{Code: code, Message: truncate(msg)}, attempts: attempts, items: len(x.ids)}
	}
	for {
		wait := max(hint, backoff.Delay(r.cfg.RetryBackoff, r.cfg.MaxRetryBackoff, int(f.sent+attempts)))
		if backoff.Sleep(ctx, wait) != nil {
			return giveUp(riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, context.Cause(ctx).Error())
		}
		if !r.periodAccepted(ctx, x.period) {
			return giveUp(riskmeshv1.ErrorCode_ERROR_CODE_STALE, "no late answer: the query's period is no longer accepted")
		}
		attempts++
		actx, cancel := context.WithTimeout(ctx, r.cfg.PhaseTimeout)
		resp, err := r.cfg.Conns.Do(actx, &x.inst, f.req.msg)
		cancel()
		if err == nil {
			return answer(ctx, resp, attempts)
		}
		hint = 0
		var re *peer.RemoteError
		switch {
		case ctx.Err() != nil:
			return giveUp(riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, context.Cause(ctx).Error())
		case errors.As(err, &re):
			// The provider looks its replay index up before it checks
			// the period, the requester's standing or its budget: a
			// refusal of the identical request means it holds no
			// answer to bill.
			stale := re.Code == riskmeshv1.ErrorCode_ERROR_CODE_STALE
			if stale && r.movedOn(x.period) || !stale && !transient(re) {
				return giveUp(re.Code, "late request refused: "+re.Message)
			}
			hint = re.RetryAfter
		}
	}
}

// periodAccepted reports whether providers still answer, and bill,
// requests of period n: the current period of this node's view, or the
// one before while the ledger has it open or in its grace window. The
// ledger is asked at most once per view (graceCheck). A ledger that cannot
// be asked counts as yes; the late-answer window still bounds the retrying.
func (r *Requester) periodAccepted(ctx context.Context, n uint64) bool {
	v := r.cfg.Directory.View()
	switch cur := v.Period.Number; {
	case n >= cur:
		return true
	case n+1 < cur:
		return false
	}
	g := &r.grace
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.period == n && g.asOf.Equal(v.AsOf) {
		return g.ok
	}
	p, err := r.cfg.Ledger.Period(ctx, n)
	if err != nil {
		return true
	}
	g.period, g.asOf = n, v.AsOf
	g.ok = p.State == accounting.PeriodOpen || p.State == accounting.PeriodGrace
	return g.ok
}

// graceCheck is periodAccepted's last ledger answer, for one view: pending
// late fetches ask the ledger once per registry refresh, not once per
// attempt each.
type graceCheck struct {
	mu     sync.Mutex
	period uint64
	asOf   time.Time
	ok     bool
}

// followLate, if some of outcomes (q's part at provider, asked in mode at
// price per item, in order) are being fetched late, follows them in the
// background: each one that ends is put in its place and the query's
// record updated. It returns the budget that stays reserved until they
// end: the items not billed yet (a live exchange's POPRF step is).
func (r *Requester) followLate(q *queryRun, provider string, mode riskmeshv1.QueryMode, price int64, outcomes []outcome) int64 {
	late, items := false, 0
	for _, o := range outcomes {
		if o.late != nil {
			late = true
			if o.billed == 0 {
				items += o.items
			}
		}
	}
	if !late {
		return 0
	}
	held := int64(items) * price
	r.mu.Lock()
	finished := r.running[q.rec.QueryId] // closed once execute has written its last record
	r.mu.Unlock()
	r.wg.Add(1) // from the query's goroutine: Close is not waiting on a zero count
	go func() {
		defer r.wg.Done()
		defer r.budget.release(held, 0)
		for i, slot := range outcomes {
			if slot.late == nil {
				continue
			}
			select {
			case <-slot.late.done:
			case <-r.ctx.Done():
				return
			}
			got := slot.late.out.slice(slot.lateLo, slot.items)
			got.attempts, got.sent = got.attempts+slot.attempts, slot.sent
			outcomes[i] = got
			select {
			case <-finished:
			case <-r.ctx.Done():
				return
			}
			r.applyLate(q, provider, mode, price, outcomes)
		}
	}()
	return held
}

// applyLate rewrites provider's part of q's stored record from outcomes,
// one of which has just ended late, saying so in its LateChange (the
// store fills in what the stream reported).
func (r *Requester) applyLate(q *queryRun, provider string, mode riskmeshv1.QueryMode, price int64, outcomes []outcome) {
	res := &riskmeshv1.ProviderResult{Provider: provider, Mode: mode}
	sv := r.fill(res, q, outcomes, price)
	res.Latency = durationpb.New(r.cfg.Now().Sub(q.accepted))
	res.Late = res.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE
	source := riskmeshv1.LateSource_LATE_SOURCE_GIVEN_UP
	if res.Late {
		source = riskmeshv1.LateSource_LATE_SOURCE_LATE_ANSWER
	}
	res.LateChange = &riskmeshv1.LateChange{Source: source, ChangedAt: timestamppb.New(r.cfg.Now())}
	r.spendMu.Lock()
	added, err := r.store.replaceResult(q.rec.QueryId, res, sv.transcripts)
	r.budget.release(0, added)
	r.spendMu.Unlock()
	if err != nil {
		r.cfg.Logger.Error("persist late provider result", "query", q.rec.QueryId, "provider", provider, "err", err)
	} else if res.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE {
		r.cfg.Logger.Info("query updated with a late answer", "query", q.rec.QueryId, "provider", provider,
			"status", res.Status, "amount", res.Amount)
	}
	r.late.signal()
}

// movedOn reports whether this node's view has moved past period.
func (r *Requester) movedOn(period uint64) bool {
	return r.cfg.Directory.View().Period.Number > period
}
