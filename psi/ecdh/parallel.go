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

// parallel runs fn over [0, n) in chunks on GOMAXPROCS goroutines and returns
// one of the errors fn returned, after every worker has stopped.
func parallel(n int, fn func(lo, hi int) error) error {
	workers := min(runtime.GOMAXPROCS(0), (n+chunkSize-1)/chunkSize)
	if workers <= 1 {
		return fn(0, n)
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
