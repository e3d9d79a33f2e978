package requester

import (
	"context"
	"sync"

	"github.com/riskmesh/riskmesh/psi/ident"
)

// splitDepth is how many exchanges of one split part may be under way at
// once: one being blinded, one being evaluated by the provider and one
// being verified. More would only queue at the provider and hold more
// blinds in memory; fewer could not overlap all three steps.
const splitDepth = 3

// splitSize is the most items of each exchange a provider part of n
// distinct identifiers is cut into, or 0 if it goes to the provider as
// one part (through the batcher, coalesced with others). A part of at
// least twice Config.SplitItems is cut into n/SplitItems exchanges of
// near-equal size, each at most the provider's batch limit; a smaller one,
// or any with SplitItems 0, is not split (docs/node-requester.md,
// "Pipelined exchanges").
func (r *Requester) splitSize(n, limit int) int {
	s := r.cfg.SplitItems
	if s <= 0 || n < 2*s {
		return 0
	}
	k := n / s
	return min((n+k-1)/k, limit)
}

// runSplit runs ids as exchanges of at most m items each, pipelined, and
// returns their outcomes in order. The exchanges are blinded and signed
// one after another on this goroutine, in sequence order; each is sent and
// its answer verified on its own goroutine, so the provider evaluates one
// while this node blinds the next and verifies the one before, at most
// splitDepth under way. Each is a whole exchange of its own (sequence
// number, signature, transcript, ledger entry, retries, late fetch); a
// provider that refuses one as too large has it cut again to fit.
func (r *Requester) runSplit(ctx context.Context, x exchange, ids []ident.ID, m int) []outcome {
	k := (len(ids) + m - 1) / m
	parts := make([][]outcome, k)
	slots := make(chan struct{}, splitDepth)
	var wg sync.WaitGroup
	for i := range k {
		slots <- struct{}{}
		xi := x
		xi.ids = ids[i*len(ids)/k : (i+1)*len(ids)/k]
		b, o := r.prepare(&xi)
		if b == nil {
			parts[i] = []outcome{o}
			<-slots
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			o := r.send(ctx, &xi, b)
			if o.maxItems == 0 {
				parts[i] = []outcome{o}
				return
			}
			parts[i] = r.runSplit(ctx, xi, xi.ids, o.maxItems)
			parts[i][0].attempts += o.attempts
		})
	}
	wg.Wait()
	var out []outcome
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
