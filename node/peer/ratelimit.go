package peer

import (
	"sync"
	"time"
)

// bucket is a token bucket: it holds at most burst tokens, gains rate tokens
// per second, and each request takes one. It is the per-peer request rate
// limit; a few lines here instead of a dependency on golang.org/x/time.
type bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second, > 0
	burst  float64 // capacity, >= 1
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int, now time.Time) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// take removes one token if there is one. Otherwise it reports how long
// until one is available, which the server sends as retry_after_ms.
func (b *bucket) take(now time.Time) (ok bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(b.burst, b.tokens+elapsed.Seconds()*b.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}
