// Package parallel hands a range of independent work items to a few
// goroutines in chunks taken from a shared counter, for psi's batch paths
// (psi/oprf's per-item steps, psi/dleq's multi-scalar multiplications,
// psi/catalogpsi's look-ups, psi/ecdh's masking and encodings).
//
// The nodes share their cores with other processes, so a core can be taken
// away for milliseconds at any point of a batch. A split fixed in advance
// (one share per core) then leaves the other core idle while it waits for
// the delayed share; a worker that takes its next chunk only when it has
// finished the last one lets the other core take over the delayed core's
// remaining work.
package parallel

import (
	"sync"
	"sync/atomic"
)

// For runs fn over [0, n) in chunks of at most chunk items on workers
// goroutines (the calling goroutine alone when workers <= 1) and returns
// the first error fn returned, after every worker has stopped; no worker
// takes a new chunk once one has failed. fn's worker argument, below
// workers, indexes per-worker scratch, so callers allocate nothing per
// chunk; fn may rely on 1 <= hi-lo <= chunk.
//
// Chunks shrink towards the end of the range (next), so that the workers
// finish within about one item of each other instead of one waiting up to
// a whole chunk for the other.
func For(n, chunk, workers int, fn func(worker, lo, hi int) error) error {
	chunk = max(1, chunk)
	if workers <= 1 {
		for lo := 0; lo < n; lo += chunk {
			if err := fn(0, lo, min(lo+chunk, n)); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		cursor atomic.Int64
		failed atomic.Bool
		once   sync.Once
		first  error
		wg     sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for !failed.Load() {
				lo, hi, ok := next(&cursor, n, chunk, workers)
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

// next claims the next chunk of [0, n) from cursor: chunk items while
// plenty remain, then a share of what remains (a quarter of it per worker
// pair), down to single items.
func next(cursor *atomic.Int64, n, chunk, workers int) (lo, hi int, ok bool) {
	for {
		cur := cursor.Load()
		if cur >= int64(n) {
			return 0, 0, false
		}
		size := min(int64(chunk), max(1, (int64(n)-cur)/int64(2*workers)))
		if cursor.CompareAndSwap(cur, cur+size) {
			return int(cur), int(cur + size), true
		}
	}
}
