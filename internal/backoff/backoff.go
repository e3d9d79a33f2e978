// Package backoff holds the retry timing shared by the node's loops that
// call a peer or the ledger again after a failure.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Delay is base after the first failure, doubled for each further one,
// capped at max.
func Delay(base, max time.Duration, failures int) time.Duration {
	d := base
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// Jitter picks a wait in the upper half of d, so that callers failing
// together do not retry together while each still waits at least d/2.
func Jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d or until ctx ends, returning ctx's error then.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
