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
// budget, taken before the decode: a token bucket of LiveKeyBudget.Burst
// uploads that refills at PerMinute. An honest requester's node uploads at
// most 16 keys per period (node/requester's liveKeysAhead) and again only
// after it restarts; beyond the budget the upload is refused RATE_LIMITED
// with the wait until its next token, and the requester's queries carry
// their key meanwhile, as they do without uploads (docs/protocol/hepsi.md,
// section 9, "Keys").

// LiveKeyBudget bounds each requester's evaluation-key uploads to this
// provider. The zero value takes the defaults.
type LiveKeyBudget struct {
	// Burst is how many uploads a requester may send in a row. Default
	// DefaultLiveKeyBurst (16): the keys an honest node prepares in a
	// period.
	Burst int
	// PerMinute is how many uploads a requester regains per minute, up to
	// Burst. Default DefaultLiveKeyPerMinute (4): a new period's keys, or
	// a restarted requester's, are taken in full within minutes, while a
	// member uploading in a loop costs the provider a few decodes a
	// minute.
	PerMinute float64
}

// Defaults of LiveKeyBudget's zero fields.
const (
	DefaultLiveKeyBurst     = 16
	DefaultLiveKeyPerMinute = 4
)

// keyUploads is the upload budget of each requester that reached it: an
// active member with the requester role, so the map grows with the
// registry only. It counts the decodes it let through and the uploads it
// refused, for the node's metrics.
type keyUploads struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter // by requester MSP id

	decoded, refused atomic.Uint64
}

// take spends one of requester's uploads at now, or reports how long until
// it has one.
func (u *keyUploads) take(budget LiveKeyBudget, requester string, now time.Time) (ok bool, wait time.Duration) {
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
	r := b.ReserveN(now, 1)
	if wait = r.DelayFrom(now); wait > 0 {
		r.CancelAt(now)
		u.refused.Add(1)
		return false, wait
	}
	u.decoded.Add(1)
	return true, 0
}

// LiveKeyUploads reports the evaluation-key uploads this provider decoded
// and those it refused over their requester's budget (LiveKeyBudget), both
// counters since start.
func (p *Provider) LiveKeyUploads() (decoded, refused uint64) {
	return p.uploads.decoded.Load(), p.uploads.refused.Load()
}

// overBudget refuses an upload over its requester's budget: RATE_LIMITED,
// with the wait until its next upload is taken.
func overBudget(wait time.Duration) *riskmeshv1.PeerResponse {
	return peer.RefusalAfter(riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED,
		"evaluation-key upload budget spent; send the key with the query", wait)
}
