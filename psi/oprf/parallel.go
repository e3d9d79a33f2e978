package oprf

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gtank/ristretto255"
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

// msm sets dst = Σ s[i]·p[i] in variable time, splitting the sum into one
// partial multi-scalar multiplication per core. Only public values may go
// through it: composite scalars and transcript elements.
func msm(dst *ristretto255.Element, s []ristretto255.Scalar, p []ristretto255.Element) {
	sp := make([]*ristretto255.Scalar, len(s))
	pp := make([]*ristretto255.Element, len(p))
	for i := range s {
		sp[i], pp[i] = &s[i], &p[i]
	}
	parts := min(runtime.GOMAXPROCS(0), max(1, len(s)/(4*chunkSize)))
	if parts <= 1 {
		dst.VarTimeMultiScalarMult(sp, pp)
		return
	}
	partial := make([]ristretto255.Element, parts)
	var wg sync.WaitGroup
	for k := range parts {
		lo, hi := k*len(s)/parts, (k+1)*len(s)/parts
		wg.Go(func() { partial[k].VarTimeMultiScalarMult(sp[lo:hi], pp[lo:hi]) })
	}
	wg.Wait()
	dst.Set(&partial[0])
	for k := 1; k < parts; k++ {
		dst.Add(dst, &partial[k])
	}
}
