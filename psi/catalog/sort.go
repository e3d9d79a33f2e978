package catalog

import (
	"bytes"
	"cmp"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// parallelSortMin is the size below which sorting on one goroutine is
// cheaper than fanning out.
const parallelSortMin = 1 << 16

// sortEntries orders entries by position hash, then value, so that the
// built structure depends only on the set of items and the seed, not on
// the order (or the goroutines) in which they were added. Large inputs are
// partitioned in place on the hash's top byte, and the 256 buckets are
// sorted on all available cores.
func sortEntries(entries []entry) {
	if len(entries) < parallelSortMin {
		slices.SortFunc(entries, compareEntries)
		return
	}
	var bounds [257]int
	for i := range entries {
		bounds[int(entries[i].hash[0])+1]++
	}
	for b := 1; b <= 256; b++ {
		bounds[b] += bounds[b-1]
	}
	// In-place distribution (American flag sort): next[b] is the first
	// position of bucket b not yet holding a bucket-b entry.
	var next [256]int
	copy(next[:], bounds[:256])
	for b := range 256 {
		for next[b] < bounds[b+1] {
			t := entries[next[b]].hash[0]
			if int(t) == b {
				next[b]++
				continue
			}
			entries[next[b]], entries[next[t]] = entries[next[t]], entries[next[b]]
			next[t]++
		}
	}

	var bucket atomic.Int32
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				b := int(bucket.Add(1)) - 1
				if b >= 256 {
					return
				}
				slices.SortFunc(entries[bounds[b]:bounds[b+1]], compareEntries)
			}
		})
	}
	wg.Wait()
}

func compareEntries(a, b entry) int {
	if c := cmp.Compare(a.positionHash(), b.positionHash()); c != 0 {
		return c
	}
	return bytes.Compare(a.value[:], b.value[:])
}

// dedupe removes repeated entries from sorted entries in place. Two entries
// with the same position hash and different values are an error: either one
// PRF output was added with two labels, or two PRF outputs share a 64-bit
// position hash (probability about n^2 / 2^65, e.g. 3 x 10^-6 for 10^7
// items), which no seed can place.
func dedupe(entries []entry) ([]entry, error) {
	if len(entries) == 0 {
		return entries, nil
	}
	out := entries[:1]
	for i := 1; i < len(entries); i++ {
		last := &out[len(out)-1]
		if entries[i].hash != last.hash {
			out = append(out, entries[i])
			continue
		}
		if entries[i].value != last.value {
			return nil, ErrConflict
		}
	}
	return out, nil
}

// groupMin is the item count from which Build groups entries by segment
// before peeling: below it the slot arrays fit in cache anyway.
const groupMin = 1 << 16

// groupBySegment reorders entries in place (American flag sort) so that
// items whose first slot lies in the same segment are adjacent, in segment
// order. Peeling then walks the slot arrays almost sequentially instead of
// at random, which is what makes large builds fast (the binary fuse paper's
// locality argument). The order is a deterministic function of the input
// order and the seed, so the built catalog stays deterministic.
func groupBySegment(entries []entry, l *layout) {
	segments := int(l.span / uint64(l.segLen))
	shift := bits.TrailingZeros32(l.segLen)
	segment := func(e *entry) int {
		var pos [4]uint32
		l.positions(e.positionHash(), &pos)
		return int(pos[0] >> shift)
	}
	bounds := make([]int, segments+1)
	for i := range entries {
		bounds[segment(&entries[i])+1]++
	}
	for s := 1; s <= segments; s++ {
		bounds[s] += bounds[s-1]
	}
	next := make([]int, segments)
	copy(next, bounds[:segments])
	for s := range segments {
		for next[s] < bounds[s+1] {
			t := segment(&entries[next[s]])
			if t == s {
				next[s]++
				continue
			}
			entries[next[s]], entries[next[t]] = entries[next[t]], entries[next[s]]
			next[t]++
		}
	}
}
