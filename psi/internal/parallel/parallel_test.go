package parallel

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

// TestForCoversOnce: every index of [0, n) is handed to exactly one call,
// in chunks of at most chunk items, to workers below the count asked for,
// whatever the split; and the chunks shrink at the end of a large range.
func TestForCoversOnce(t *testing.T) {
	for _, chunk := range []int{1, 16, 64} {
		for _, n := range []int{0, 1, 15, 16, 17, 63, 64, 1000, 4099} {
			for _, workers := range []int{1, 2, 3, 8} {
				t.Run(fmt.Sprintf("chunk%d/%d/%d", chunk, n, workers), func(t *testing.T) {
					seen := make([]atomic.Int32, n)
					var smallest atomic.Int64
					smallest.Store(int64(chunk))
					err := For(n, chunk, workers, func(w, lo, hi int) error {
						if lo >= hi || hi-lo > chunk || hi > n || w < 0 || w >= max(1, workers) {
							return fmt.Errorf("worker %d, chunk [%d, %d)", w, lo, hi)
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
					if workers > 1 && n >= 4*chunk && smallest.Load() != 1 {
						t.Fatalf("smallest chunk %d: the end of the range is not split finely", smallest.Load())
					}
				})
			}
		}
	}
}

// TestForStopsOnError: the first error comes back and no worker takes a
// new chunk after it.
func TestForStopsOnError(t *testing.T) {
	const chunk = 16
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			boom := errors.New("boom")
			var calls atomic.Int32
			err := For(1000, chunk, workers, func(_, lo, _ int) error {
				calls.Add(1)
				if lo >= 100 {
					return boom
				}
				return nil
			})
			if !errors.Is(err, boom) {
				t.Fatalf("got %v, want %v", err, boom)
			}
			if c := calls.Load(); c > 100/chunk+4 {
				t.Fatalf("%d calls: workers went on after the error", c)
			}
		})
	}
}
