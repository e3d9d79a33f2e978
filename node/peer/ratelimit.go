package peer

import (
	"time"

	"golang.org/x/time/rate"
)

// bucket is the per-peer request rate limit: a token bucket of
// golang.org/x/time/rate that holds at most burst requests and regains
// perSecond of them a second, each request taking one (TakeToken).
type bucket struct{ lim *rate.Limiter }

// newBucket returns a full bucket.
func newBucket(perSecond float64, burst int) *bucket {
	return &bucket{lim: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

// take spends one of the peer's requests at now, or reports how long until
// it has one, which the server sends as retry_after_ms.
func (b *bucket) take(now time.Time) (ok bool, wait time.Duration) { return TakeToken(b.lim, now) }

// TakeToken spends one of l's tokens at now if it has one; otherwise it
// spends nothing and reports how long until l has one, the retry_after a
// RATE_LIMITED refusal carries (RefusalAfter). It is how every token bucket
// of the node is spent: the peer rate limit here and node/provider's live
// budgets. A read of the clock earlier than the last one refills nothing,
// though rate.Limiter then counts from it: two streams' reads racing to
// the lock may let the peer regain the microseconds between them twice,
// about a thousandth of a request at the default rate. It allocates
// nothing (a rate.Reservation would).
func TakeToken(l *rate.Limiter, now time.Time) (ok bool, wait time.Duration) {
	if l.AllowN(now, 1) {
		return true, 0
	}
	perSecond := float64(l.Limit())
	if perSecond <= 0 { // it never refills
		return false, rate.InfDuration
	}
	missing := max(0, 1-l.TokensAt(now))
	return false, time.Duration(missing / perSecond * float64(time.Second))
}
