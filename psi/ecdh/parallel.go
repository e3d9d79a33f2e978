package ecdh

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// chunkSize is the number of items a worker takes at a time: a few
// milliseconds of work, small enough to balance load on a machine whose cores
// are shared with other processes.
const chunkSize = 64

// parallel runs fn over [0, n) in chunks of at most chunkSize items on
// GOMAXPROCS goroutines and returns one of the errors fn returned, after
// every worker has stopped. fn may rely on hi-lo <= chunkSize (the batched
// encodings keep a chunk's points on the stack).
func parallel(n int, fn func(lo, hi int) error) error {
	workers := min(runtime.GOMAXPROCS(0), (n+chunkSize-1)/chunkSize)
	if workers <= 1 {
		for lo := 0; lo < n; lo += chunkSize {
			if err := fn(lo, min(lo+chunkSize, n)); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		next    atomic.Int64
		failed  atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for !failed.Load() {
				lo := int(next.Add(chunkSize)) - chunkSize
				if lo >= n {
					return
				}
				if err := fn(lo, min(lo+chunkSize, n)); err != nil {
					errOnce.Do(func() { first = err })
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}
