package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/psi/catalog"
)

// system is one protocol set up over one transport with its providers'
// lists loaded, ready to answer batches.
type system interface {
	// query asks every provider about b at once and returns the number of
	// (item, provider) hits found, after checking every answer against b's
	// expectation (ErrWrongResult otherwise), and what the query cost: from
	// the start of the first party's work to the last result, without
	// expensive checks done afterwards. seq is unique per query.
	query(ctx context.Context, b *synth.Batch, seq uint64) (sample, error)
	close() error
}

// processSystem is a system whose parties run as child processes of the
// harness, which the load judge counts as the harness's own work.
type processSystem interface {
	system
	processes() []int
}

// sample is one measured query.
type sample struct {
	hits int
	// seconds is the wall time, cpu the CPU time of both parties (every
	// party of a system runs in this process, or in the one baseline
	// process that reports its own).
	seconds, cpu float64
	// bytesUp and bytesDown are the bytes sent and received (Row's).
	bytesUp, bytesDown int64
}

// setupCost is what building a system took, for the rows of the list sweep.
type setupCost struct {
	phase        string // PhaseBuild or PhaseSetup
	items        int
	seconds, cpu float64
	load         rowLoad // when the building started
}

// checkProvider compares one provider's answer for b with the planted
// expectation: hit[i] for item i and, when labels is not nil, the label of
// each hit. It returns the number of hits.
func checkProvider(b *synth.Batch, msp string, hit []bool, labels []catalog.Label) (int, error) {
	if len(hit) != len(b.Items) {
		return 0, fmt.Errorf("%w: %s answered %d items of %d", ErrWrongResult, msp, len(hit), len(b.Items))
	}
	n := 0
	for i := range b.Items {
		want, listed := expectedLabel(&b.Items[i], msp)
		if hit[i] != listed {
			return 0, fmt.Errorf("%w: %s item %d: hit %t, planted %t", ErrWrongResult, msp, i, hit[i], listed)
		}
		if listed && labels != nil && labels[i] != want {
			return 0, fmt.Errorf("%w: %s item %d: wrong label", ErrWrongResult, msp, i)
		}
		if listed {
			n++
		}
	}
	return n, nil
}

func expectedLabel(it *synth.Item, msp string) (catalog.Label, bool) {
	for _, h := range it.Hits {
		if h.Provider == msp {
			return h.Label, true
		}
	}
	return catalog.Label{}, false
}

// itemBytes returns the canonical encodings of b's identifiers.
func itemBytes(b *synth.Batch) [][]byte {
	out := make([][]byte, len(b.Items))
	for i := range b.Items {
		out[i] = b.Items[i].ID.AppendTo(nil)
	}
	return out
}

// timed runs query and measures it: the cost of a system whose answer
// check is cheap enough to count as part of the query.
func timed(query func() (int, error)) (sample, error) {
	start, cpu := time.Now(), processCPU()
	hits, err := query()
	return sample{hits: hits, seconds: time.Since(start).Seconds(), cpu: processCPU() - cpu}, err
}

// eachProvider runs ask for providers 0..n-1 at once, as a node's fan-out
// does, and returns the sum of their hits. The first error cancels the
// others' context and is returned.
func eachProvider(ctx context.Context, n int, ask func(ctx context.Context, i int) (int, error)) (int, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hits := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			h, err := ask(ctx, i)
			if err != nil {
				cancel(err)
			}
			hits[i] = h
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return 0, err
	}
	total := 0
	for _, h := range hits {
		total += h
	}
	return total, nil
}
