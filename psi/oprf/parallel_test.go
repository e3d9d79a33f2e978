package oprf

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

// TestParallelCoversOnce: every index of [0, n) is handed to exactly one
// call, in chunks of at most chunkSize, whatever the split, and the chunks
// shrink at the end of a large range.
func TestParallelCoversOnce(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 63, 64, 1000, 4099} {
		for _, workers := range []int{1, 2, 3, 8} {
			t.Run(fmt.Sprintf("%d/%d", n, workers), func(t *testing.T) {
				seen := make([]atomic.Int32, n)
				var smallest atomic.Int64
				smallest.Store(chunkSize)
				err := parallel(n, workers, func(_, lo, hi int) error {
					if lo >= hi || hi-lo > chunkSize || hi > n {
						return fmt.Errorf("chunk [%d, %d)", lo, hi)
					}
					for size := int64(hi - lo); ; {
						cur := smallest.Load()
						if size >= cur || smallest.CompareAndSwap(cur, size) {
							break
						}
					}
					for i := lo; i < hi; i++ {
						seen[i].Add(1)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				for i := range seen {
					if c := seen[i].Load(); c != 1 {
						t.Fatalf("index %d handed out %d times", i, c)
					}
				}
				if workers > 1 && n >= 64 && smallest.Load() != 1 {
					t.Fatalf("smallest chunk %d: the end of the range is not split finely", smallest.Load())
				}
			})
		}
	}
}

// TestParallelStopsOnError: the first error comes back and no worker takes
// a new chunk after it.
func TestParallelStopsOnError(t *testing.T) {
	boom := errors.New("boom")
	var calls atomic.Int32
	err := parallel(1000, 2, func(_, lo, _ int) error {
		calls.Add(1)
		if lo >= 100 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	if c := calls.Load(); c > 100/chunkSize+4 {
		t.Fatalf("%d calls: workers went on after the error", c)
	}
}
