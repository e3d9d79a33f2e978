package ecdh

import (
	"runtime"

	"github.com/riskmesh/riskmesh/psi/internal/parallel"
)

// chunkSize is the number of items a worker takes at a time: a few
// milliseconds of work, small enough to balance load on a machine whose cores
// are shared with other processes.
const chunkSize = 64

// forChunks runs fn over [0, n) in chunks of at most chunkSize items on
// GOMAXPROCS goroutines (psi/internal/parallel) and returns one of the
// errors fn returned, after every worker has stopped. fn may rely on
// hi-lo <= chunkSize (the batched encodings keep a chunk's points on the
// stack).
func forChunks(n int, fn func(lo, hi int) error) error {
	workers := min(runtime.GOMAXPROCS(0), (n+chunkSize-1)/chunkSize)
	return parallel.For(n, chunkSize, workers, func(_, lo, hi int) error { return fn(lo, hi) })
}
