package bench

import (
	"fmt"

	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
)

// category is the one category every benchmark list holds.
const category = synth.Black

// overlap is the fraction of entries also on another provider's list when
// there are several, so that some planted hits answer from two providers.
const overlap = 0.1

// workload is the synthetic data of one setup: providers' lists of one
// category, from which query batches with planted hits are drawn.
type workload struct {
	seed  uint64
	lists []synth.List
	cons  *synth.Consortium
}

// providerMSP names provider number i (from 0), as the node's registry does.
func providerMSP(i int) string { return fmt.Sprintf("P%dMSP", i+1) }

// newWorkload generates n lists of about size entries each.
func newWorkload(seed uint64, n, size int) (*workload, error) {
	insts := make([]synth.Institution, n)
	for i := range insts {
		insts[i] = synth.Institution{MSPID: providerMSP(i), Categories: map[synth.Category]int{category: 1}}
	}
	ov := overlap
	if n == 1 {
		ov = -1
	}
	cons, err := synth.Generate(synth.Config{Seed: seed, Institutions: insts, Entries: n * size, Overlap: ov})
	if err != nil {
		return nil, fmt.Errorf("generate %d lists of %d entries: %w", n, size, err)
	}
	return &workload{seed: seed, lists: cons.Lists, cons: cons}, nil
}

// batch draws batch number rep of size identifiers, half of them listed
// (and an eighth listed twice when there are several providers), the rest
// on no list. It returns the batch and the number of (item, provider) hits
// planted.
func (w *workload) batch(size, rep int) (*synth.Batch, int, error) {
	smallest := len(w.lists[0].Entries)
	for _, l := range w.lists {
		smallest = min(smallest, len(l.Entries))
	}
	cfg := synth.BatchConfig{Seed: w.seed*1000 + uint64(rep), Category: category, Size: size, Hits: min(size/2, smallest/2)}
	if len(w.lists) > 1 {
		cfg.MultiHits = min(cfg.Hits/4, int(float64(smallest)*overlap/4))
	}
	b, err := w.cons.Batch(cfg)
	if err != nil {
		return nil, 0, fmt.Errorf("draw a batch of %d: %w", size, err)
	}
	want := 0
	for _, it := range b.Items {
		want += len(it.Hits)
	}
	return b, want, nil
}

// entries returns provider i's list.
func (w *workload) entries(i int) []catalogpsi.Entry { return w.lists[i].Entries }
