package bench

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// period is the accounting period every in-process catalog is built for.
const period = 1

// catalogParty is one provider of an in-process catalog PSI system: its
// evaluator and the requester's copy of its catalog.
type catalogParty struct {
	msp       string
	evaluator *oprf.Evaluator
	requester *catalogpsi.Requester
}

// catalogInProcess runs catalog PSI with both parties in this process,
// through the psi packages alone: no transport, transcripts or signatures.
type catalogInProcess struct {
	parties []catalogParty
}

// newCatalogInProcess builds every provider's catalog (one after the
// other, each on all cores) and reports the total build time.
func newCatalogInProcess(ctx context.Context, w *workload) (*catalogInProcess, setupCost, error) {
	parties, cost, err := inProcessParties(w, func(msp string, key *oprf.PrivateKey, entries []catalogpsi.Entry, build timedBuild) (catalogParty, error) {
		p := catalogpsi.NewProvider(msp, key)
		var cat *catalog.Catalog
		if err := build(func() (err error) {
			cat, err = p.BuildCatalog(ctx, nil, category.String(), period, slices.Values(entries), len(entries), nil)
			return err
		}); err != nil {
			return catalogParty{}, err
		}
		ev, err := p.Evaluator(category.String(), period)
		if err != nil {
			return catalogParty{}, err
		}
		r, err := catalogpsi.NewRequester(msp, key.Public(), category.String(), period, cat)
		if err != nil {
			return catalogParty{}, err
		}
		return catalogParty{msp: msp, evaluator: ev, requester: r}, nil
	})
	if err != nil {
		return nil, cost, err
	}
	return &catalogInProcess{parties: parties}, cost, nil
}

func (s *catalogInProcess) query(ctx context.Context, b *synth.Batch, _ uint64) (sample, error) {
	var up, down atomic.Int64
	m, err := timed(func() (int, error) {
		ids := make([]ident.ID, len(b.Items))
		for i := range b.Items {
			ids[i] = b.Items[i].ID
		}
		return eachProvider(ctx, len(s.parties), func(ctx context.Context, pi int) (int, error) {
			p := &s.parties[pi]
			hit := make([]bool, len(ids))
			labels := make([]catalog.Label, len(ids))
			// A node splits a batch into requests of at most oprf.MaxBatch.
			for start := 0; start < len(ids); start += oprf.MaxBatch {
				if err := ctx.Err(); err != nil {
					return 0, err
				}
				end := min(start+oprf.MaxBatch, len(ids))
				q, blinded, err := p.requester.Blind(nil, ids[start:end])
				if err != nil {
					return 0, err
				}
				evaluated, proof, err := p.evaluator.BlindEvaluate(nil, blinded)
				if err != nil {
					return 0, err
				}
				up.Add(int64(len(blinded)))
				down.Add(int64(len(evaluated) + len(proof)))
				res, err := p.requester.Resolve(q, evaluated, proof[:])
				if err != nil {
					return 0, err
				}
				for i, r := range res {
					hit[start+i], labels[start+i] = r.Hit, r.Label
				}
			}
			return checkProvider(b, p.msp, hit, labels)
		})
	})
	m.bytesUp, m.bytesDown = up.Load(), down.Load()
	return m, err
}

func (s *catalogInProcess) close() error { return nil }
