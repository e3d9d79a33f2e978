package provider

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// An evaluation-key upload (LiveKeyUpload, liveKey) is not billed, and
// each costs the provider a decode of the 1.57 MB key (2–7 ms of CPU at
// the presets) before it knows whether the bytes are a key at all. The
// peer rate limit (1,000 requests a second per peer) would let one member
// with valid keys keep a core decoding, so each requester has an upload
// budget, taken before the decode: a token bucket (Config.LiveKeyUploads).
// An honest requester's node uploads at
// most 16 keys per period (node/requester's liveKeysAhead) and again only
// after it restarts; beyond the budget the upload is refused RATE_LIMITED
// with the wait until its next token, and the requester's queries carry
// their key meanwhile, as they do without uploads (docs/protocol/hepsi.md,
// section 9, "Keys").

// LiveBudget bounds one kind of each requester's unbilled live work at
// this provider: a token bucket of Burst in a row that refills at
// PerMinute. A zero field takes the default of its use (Config).
type LiveBudget struct {
	// Burst is how many a requester may spend in a row.
	Burst int
	// PerMinute is how many a requester regains per minute, up to Burst.
	PerMinute float64
}

// Defaults of Config.LiveKeyUploads: an upload burst of 16, the keys an
// honest node prepares in a period, and 4 a minute, so that a new period's
// keys, or a restarted requester's, are taken in full within minutes while
// a member uploading in a loop costs the provider a few decodes a minute.
//
// Defaults of Config.LiveRetries: a burst of 4 re-evaluations and 2 a
// minute. An honest requester retries a live query only after losing its
// answer (a broken connection, a deadline), and only a retry the provider
// no longer keeps the answer to costs a re-evaluation, so it needs one
// now and then; a member retrying in a loop costs a few evaluations a
// minute.
const (
	DefaultLiveKeyBurst       = 16
	DefaultLiveKeyPerMinute   = 4
	DefaultLiveRetryBurst     = 4
	DefaultLiveRetryPerMinute = 2
)

// budgets holds a LiveBudget's bucket for each requester that reached it:
// an active member with the requester role, so the map grows with the
// registry only. It counts the work it let through and the requests it
// refused, for the node's metrics.
type budgets struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter // by requester MSP id

	spent, refused atomic.Uint64
}

// take spends one of requester's tokens at now, or reports how long until
// it has one.
func (u *budgets) take(budget LiveBudget, requester string, now time.Time) (ok bool, wait time.Duration) {
	u.mu.Lock()
	b := u.buckets[requester]
	if b == nil {
		if u.buckets == nil {
			u.buckets = map[string]*rate.Limiter{}
		}
		b = rate.NewLimiter(rate.Limit(budget.PerMinute/60), budget.Burst)
		u.buckets[requester] = b
	}
	u.mu.Unlock()
	if ok, wait = peer.TakeToken(b, now); !ok {
		u.refused.Add(1)
		return false, wait
	}
	u.spent.Add(1)
	return true, 0
}

// LiveKeyUploads reports the evaluation-key uploads this provider decoded
// and those it refused over their requester's budget (Config.LiveKeyUploads), both
// counters since start.
func (p *Provider) LiveKeyUploads() (decoded, refused uint64) {
	return p.uploads.spent.Load(), p.uploads.refused.Load()
}

// overBudget refuses an upload over its requester's budget: RATE_LIMITED,
// with the wait until its next upload is taken.
func overBudget(wait time.Duration) *riskmeshv1.PeerResponse {
	return peer.RefusalAfter(riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED,
		"evaluation-key upload budget spent; send the key with the query", wait)
}

// A live query sent again on its exchange (a lost answer's retry) is
// answered again without billing anything more. One whose answer the
// provider keeps (liveAnswers) is found by the digest of its bytes
// (hepsi.QueryDigest), before it is decoded or anything is written; one
// whose answer is no longer kept (evicted, or made before a restart) is
// evaluated again, seconds of CPU that nothing bills. Those re-evaluations
// spend a per-requester budget (Config.LiveRetries), taken before the
// query is decoded; beyond it the retry is refused RATE_LIMITED with the
// wait until the next token, which an honest requester waits for as it
// would for a busy provider, reporting the part unavailable, billed and
// without results, if its deadline ends first. A query its requester
// signed that does not decode takes the exchange's step too
// (liveUndecodable), so sending it again is such a retry: a token per
// decode after the first, which the billed POPRF step paid for.

// LiveQueries reports the live queries this provider decoded or tried to
// (one that does not decode counts), the retries it let through to be
// decoded and evaluated again and those it refused over their requester's
// budget (Config.LiveRetries), all counters since start.
func (p *Provider) LiveQueries() (decoded, reevaluated, refused uint64) {
	return p.liveDecodes.Load(), p.retries.spent.Load(), p.retries.refused.Load()
}

// spendRetry spends one of requester's re-evaluation tokens
// (Config.LiveRetries), or returns the refusal of a retry over its budget,
// with the wait until its next token.
func (p *Provider) spendRetry(requester string) *riskmeshv1.PeerResponse {
	if ok, wait := p.retries.take(p.cfg.LiveRetries, requester, p.cfg.Now()); !ok {
		return peer.RefusalAfter(riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED,
			"live re-evaluation budget spent; retry later", wait)
	}
	return nil
}
