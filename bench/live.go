package bench

import (
	"context"
	"sync/atomic"

	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/hepsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// Live mode's benchmark settings.
const (
	// liveMaxBatch caps the batches of live points: a batch costs one
	// homomorphic query per liveBatch identifiers, each about a second of
	// CPU at 10^6 entries (docs/benchmarks.md).
	liveMaxBatch = 10_000
	// liveBatch is the most identifiers one homomorphic query carries, the
	// node's default (provider.DefaultLiveBatch).
	liveBatch = 1024
	// liveMinList is the smallest list the parameters are chosen for, as
	// the node chooses them.
	liveMinList = 10_000
)

// liveParty is one provider of an in-process live system: the POPRF key's
// evaluator, its homomorphic database, and the requester's client and
// homomorphic requester for it.
type liveParty struct {
	msp       string
	evaluator *oprf.Evaluator
	db        *hepsi.Database
	client    *oprf.Client
	requester *hepsi.Requester
}

// liveInProcess runs live mode with both parties in this process, through
// the psi packages and the wire encodings alone: per batch of liveBatch
// identifiers the verified POPRF step, then the homomorphic query encoded,
// decoded, answered, encoded, decoded and decrypted. No transport,
// transcripts or signatures.
type liveInProcess struct {
	parties []liveParty
}

// newLiveInProcess builds every provider's live database (the PRF outputs
// of its list and the database holding them with their labels) and reports
// the total build time.
func newLiveInProcess(ctx context.Context, w *workload) (*liveInProcess, setupCost, error) {
	parties, cost, err := inProcessParties(w, func(msp string, key *oprf.PrivateKey, entries []catalogpsi.Entry, build timedBuild) (liveParty, error) {
		ev, err := catalogpsi.NewProvider(msp, key).Evaluator(category.String(), period)
		if err != nil {
			return liveParty{}, err
		}
		var db *hepsi.Database
		if err := build(func() (err error) {
			db, err = liveDatabase(ctx, ev, entries)
			return err
		}); err != nil {
			return liveParty{}, err
		}
		client, err := oprf.NewClient(key.Public(), catalogpsi.Info(category.String(), period))
		if err != nil {
			return liveParty{}, err
		}
		r, err := hepsi.NewRequester(db.Params())
		if err != nil {
			return liveParty{}, err
		}
		return liveParty{msp: msp, evaluator: ev, db: db, client: client, requester: r}, nil
	})
	if err != nil {
		return nil, cost, err
	}
	return &liveInProcess{parties: parties}, cost, nil
}

// liveDatabase evaluates entries under ev and adds them, with their labels,
// to a database with the node's parameters for their number.
func liveDatabase(ctx context.Context, ev *oprf.Evaluator, entries []catalogpsi.Entry) (*hepsi.Database, error) {
	params, err := hepsi.ParamsFor(max(len(entries), liveMinList), liveBatch, catalog.LabelSize)
	if err != nil {
		return nil, err
	}
	db, err := hepsi.NewDatabase(params)
	if err != nil {
		return nil, err
	}
	// One Add for the whole list: each Add recomputes every bin it
	// touches, so adding in parts would recompute most bins once a part.
	inputs, labels := make([][]byte, len(entries)), make([][]byte, len(entries))
	for i, e := range entries {
		inputs[i] = e.ID.AppendTo(nil)
		if labels[i], err = e.Label.MarshalBinary(); err != nil {
			return nil, err
		}
	}
	outputs := make([][oprf.OutputSize]byte, len(entries))
	const chunk = 4096
	for start := 0; start < len(entries); start += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := min(start+chunk, len(entries))
		if err := ev.EvaluateBatch(outputs[start:end], inputs[start:end]); err != nil {
			return nil, err
		}
	}
	items := make([][]byte, len(entries))
	for i := range outputs {
		items[i] = outputs[i][:]
	}
	if err := db.Add(items, labels); err != nil {
		return nil, err
	}
	return db, nil
}

func (s *liveInProcess) query(ctx context.Context, b *synth.Batch, _ uint64) (sample, error) {
	var up, down atomic.Int64
	m, err := timed(func() (int, error) {
		ids := itemBytes(b)
		return eachProvider(ctx, len(s.parties), func(ctx context.Context, pi int) (int, error) {
			p := &s.parties[pi]
			hit := make([]bool, len(ids))
			labels := make([]catalog.Label, len(ids))
			for start := 0; start < len(ids); start += liveBatch {
				if err := ctx.Err(); err != nil {
					return 0, err
				}
				end := min(start+liveBatch, len(ids))
				res, err := p.ask(ids[start:end], &up, &down)
				if err != nil {
					return 0, err
				}
				for i, r := range res {
					hit[start+i] = r.Found
					if r.Found {
						if err := labels[start+i].UnmarshalBinary(r.Label); err != nil {
							return 0, err
						}
					}
				}
			}
			return checkProvider(b, p.msp, hit, labels)
		})
	})
	m.bytesUp, m.bytesDown = up.Load(), down.Load()
	return m, err
}

// ask runs one exchange for ids, counting each message's bytes.
func (p *liveParty) ask(ids [][]byte, up, down *atomic.Int64) ([]hepsi.Result, error) {
	st, blinded, err := p.client.Blind(nil, ids)
	if err != nil {
		return nil, err
	}
	evaluated, proof, err := p.evaluator.BlindEvaluate(nil, blinded)
	if err != nil {
		return nil, err
	}
	outputs, err := p.client.Finalize(st, evaluated, proof[:])
	if err != nil {
		return nil, err
	}
	items := make([][]byte, len(outputs))
	for i := range outputs {
		items[i] = outputs[i][:]
	}
	q, qs, err := p.requester.Query(nil, items)
	if err != nil {
		return nil, err
	}
	qb, err := q.MarshalBinary()
	if err != nil {
		return nil, err
	}
	params := p.db.Params()
	got, err := hepsi.DecodeQuery(params, qb)
	if err != nil {
		return nil, err
	}
	a, err := p.db.Answer(nil, got)
	if err != nil {
		return nil, err
	}
	ab, err := a.MarshalBinary()
	if err != nil {
		return nil, err
	}
	up.Add(int64(len(blinded) + len(qb)))
	down.Add(int64(len(evaluated) + len(proof) + len(ab)))
	back, err := hepsi.DecodeAnswer(params, ab)
	if err != nil {
		return nil, err
	}
	return qs.Results(back)
}

func (s *liveInProcess) close() error { return nil }
