package oprf

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// chunkSize is how many items a worker takes at a time: with every item
// costing one or two scalar multiplications (~50 µs), a chunk is about a
// millisecond, small enough to balance load on cores shared with other
// processes and large enough that scheduling costs nothing.
const chunkSize = 16

// workersFor is how many goroutines a batch of n items gets.
func workersFor(n int) int {
	return max(1, min(runtime.GOMAXPROCS(0), (n+chunkSize-1)/chunkSize))
}

// parallel runs fn over [0, n) in chunks of at most chunkSize items on
// `workers` goroutines (see workersFor) and returns the first error fn
// returned, after every worker has stopped. fn's worker argument indexes
// per-worker scratch, so the hot loops allocate nothing per item; fn may
// rely on hi-lo <= chunkSize.
//
// Chunks shrink towards the end of the range (nextChunk), so that the
// workers finish within about one item of each other instead of one
// waiting up to a whole chunk (about a millisecond) for the other at every
// phase of a batch.
func parallel(n, workers int, fn func(worker, lo, hi int) error) error {
	if workers <= 1 {
		for lo := 0; lo < n; lo += chunkSize {
			if err := fn(0, lo, min(lo+chunkSize, n)); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		next   atomic.Int64
		failed atomic.Bool
		once   sync.Once
		first  error
		wg     sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for !failed.Load() {
				lo, hi, ok := nextChunk(&next, n, workers)
				if !ok {
					return
				}
				if err := fn(w, lo, hi); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// nextChunk claims the next chunk of [0, n) from next: chunkSize items
// while plenty remain, then a share of what remains (a quarter of it per
// worker pair), down to single items.
func nextChunk(next *atomic.Int64, n, workers int) (lo, hi int, ok bool) {
	for {
		cur := next.Load()
		if cur >= int64(n) {
			return 0, 0, false
		}
		size := min(chunkSize, max(1, (int64(n)-cur)/int64(2*workers)))
		if next.CompareAndSwap(cur, cur+size) {
			return int(cur), int(cur + size), true
		}
	}
}
