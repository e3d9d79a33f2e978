package catalogpsi

import (
	"context"
	"fmt"
	"io"
	"iter"

	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// buildChunk is how many identifiers are evaluated per EvaluateBatch call
// while building: large enough to keep both cores busy, small enough that the
// PRF outputs in flight stay a few MiB whatever the list size.
const buildChunk = 1 << 14

// Entry is one identifier on a provider's list with what the provider says
// about it.
type Entry struct {
	ID    ident.ID
	Label catalog.Label
}

// Provider is one institution's side of catalog PSI for all its categories.
type Provider struct {
	mspID string
	key   *oprf.PrivateKey
}

// NewProvider returns the provider side for the institution with this MSP id
// and OPRF key (the key whose public half is registered on the ledger).
// It does not fail: a nil or invalid key makes Evaluator and BuildCatalog
// return oprf.ErrInvalidPrivateKey. Evaluators prove under
// oprf.ProofBinding128; Evaluator.WithRule gives the same evaluator under
// the other rule nodes answer, oprf.ProofBinding.
func NewProvider(mspID string, key *oprf.PrivateKey) *Provider {
	return &Provider{mspID: mspID, key: key}
}

// Evaluator returns the evaluator that answers blinded batches for a category
// and period. Callers keep it for the period: it precomputes the tweak.
func (p *Provider) Evaluator(category string, period uint64) (*oprf.Evaluator, error) {
	return oprf.NewEvaluator(p.key, Info(category, period))
}

// BuildCatalog evaluates every entry under the (category, period) PRF and
// builds the catalog. entries is read once, in order; expected sizes the
// builder (a hint, 0 if unknown). progress, if not nil, is called after each
// chunk with the number of entries evaluated so far. rand seeds the catalog
// construction (crypto/rand if nil). The context is checked between chunks.
func (p *Provider) BuildCatalog(ctx context.Context, rand io.Reader, category string, period uint64,
	entries iter.Seq[Entry], expected int, progress func(done int)) (*catalog.Catalog, error) {
	ev, err := p.Evaluator(category, period)
	if err != nil {
		return nil, err
	}
	meta := catalog.Meta{
		Suite:    Suite,
		Provider: p.mspID,
		Category: category,
		Period:   period,
		KeyID:    p.key.Public().KeyID(),
	}
	b, err := catalog.NewBuilder(meta, expected)
	if err != nil {
		return nil, err
	}

	var (
		inputs  = make([][]byte, 0, buildChunk)
		labels  = make([]catalog.Label, 0, buildChunk)
		outputs = make([][oprf.OutputSize]byte, buildChunk)
		buf     []byte
		done    int
	)
	flush := func() error {
		if len(inputs) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		out := outputs[:len(inputs)]
		if err := ev.EvaluateBatch(out, inputs); err != nil {
			return fmt.Errorf("evaluate entries %d..%d: %w", done, done+len(inputs)-1, err)
		}
		for i := range out {
			if err := b.Add(out[i][:], labels[i]); err != nil {
				return fmt.Errorf("entry %d: %w", done+i, err)
			}
		}
		done += len(inputs)
		inputs, labels, buf = inputs[:0], labels[:0], buf[:0]
		if progress != nil {
			progress(done)
		}
		return nil
	}
	for e := range entries {
		// A chunk's inputs share one buffer. When append moves the buffer,
		// the earlier inputs keep pointing at the old array, whose bytes do
		// not change, so they stay valid until the chunk is flushed.
		start := len(buf)
		buf = e.ID.AppendTo(buf)
		inputs = append(inputs, buf[start:len(buf):len(buf)])
		labels = append(labels, e.Label)
		if len(inputs) == buildChunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return b.Build(rand)
}
