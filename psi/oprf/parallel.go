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
				lo := int(next.Add(chunkSize)) - chunkSize
				if lo >= n {
					return
				}
				if err := fn(w, lo, min(lo+chunkSize, n)); err != nil {
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
