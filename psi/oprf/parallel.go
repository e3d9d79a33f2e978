package oprf

import "runtime"

// chunkSize is how many items a worker takes at a time: with every item
// costing one or two scalar multiplications (~50 µs), a chunk is about a
// millisecond, small enough to balance load on cores shared with other
// processes and large enough that scheduling costs nothing.
const chunkSize = 16

// workersFor is how many goroutines a batch of n items gets. Every
// per-item step runs through parallel.For, which hands the chunks out as
// the workers come free and shrinks them to single items at the end of the
// range, so that a worker delayed by another process does not hold the
// batch back; each step's fn indexes per-worker scratch by its worker
// argument, so the hot loops allocate nothing per item, and may rely on
// hi-lo <= chunkSize.
func workersFor(n int) int {
	return max(1, min(runtime.GOMAXPROCS(0), (n+chunkSize-1)/chunkSize))
}
