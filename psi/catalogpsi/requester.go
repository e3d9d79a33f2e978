package catalogpsi

import (
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/internal/parallel"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

var (
	ErrCatalogMismatch = errors.New("catalogpsi: catalog does not belong to this provider, key, category and period")
	ErrEmptyBatch      = errors.New("catalogpsi: empty batch")
	ErrNoCatalog       = errors.New("catalogpsi: no catalog")
	ErrBlinding        = errors.New("catalogpsi: unknown blinding")
)

// Result is the answer for one identifier of a batch.
type Result struct {
	// Hit reports that the identifier is on the provider's list.
	Hit bool
	// Label is the provider's label for a hit, the zero Label otherwise.
	Label catalog.Label
}

// Requester queries one provider's catalog for one category and period.
type Requester struct {
	client   *oprf.Client
	blinding oprf.Blinding
	catalog  *catalog.Catalog
}

// NewRequester returns a requester for the catalog cat that provider
// published under the OPRF key pub (both as registered on the ledger). It
// refuses a catalog whose metadata names another provider, key, category,
// period or suite: a lookup in it would silently miss everything. Answers
// are accepted only with proofs under oprf.ProofBinding128, the rule the
// node's transcript headers (version 3) ask for. It blinds additively
// (oprf.BlindAdditive), which is sound because pub is the verified,
// registered key and every answer's proof is checked before unblinding
// (docs/protocol.md, "Blinding"); it builds the key's fixed-base table
// (30 KiB, a millisecond or two) here and keeps it for its life.
func NewRequester(provider string, pub *oprf.PublicKey, category string, period uint64, cat *catalog.Catalog) (*Requester, error) {
	return NewRequesterWithBlinding(provider, pub, category, period, cat, oprf.BlindAdditive)
}

// NewRequesterWithBlinding is NewRequester blinding as b says:
// oprf.BlindMultiplicative keeps RFC 9497's blinding, which needs no
// precomputed table and costs two variable-base multiplications per
// identifier.
func NewRequesterWithBlinding(provider string, pub *oprf.PublicKey, category string, period uint64, cat *catalog.Catalog, b oprf.Blinding) (*Requester, error) {
	if !b.Valid() {
		return nil, ErrBlinding
	}
	if pub == nil {
		return nil, oprf.ErrInvalidPublicKey
	}
	if cat == nil {
		return nil, ErrNoCatalog
	}
	m := cat.Meta()
	if m.Provider != provider || m.KeyID != pub.KeyID() || m.Category != category ||
		m.Period != period || m.Suite != Suite {
		return nil, fmt.Errorf("%w: catalog is %s/%s/%d (%s)", ErrCatalogMismatch, m.Provider, m.Category, m.Period, m.Suite)
	}
	client, err := oprf.NewClient(pub, Info(category, period))
	if err != nil {
		return nil, err
	}
	if b == oprf.BlindAdditive {
		// Here, when the catalog is loaded, not in the first query.
		client.PrecomputeAdditive()
	}
	return &Requester{client: client, blinding: b, catalog: cat}, nil
}

// Query is a blinded batch waiting for the provider's answer. It holds the
// secret blinds: keep it in memory, never send or store it.
type Query struct {
	state *oprf.BlindState
}

// Len is the number of identifiers in the batch.
func (q *Query) Len() int { return q.state.Len() }

// PrecomputeUnblind starts, on one goroutine, the part of Resolve's
// unblinding that needs no answer (oprf.BlindState.PrecomputeUnblind):
// call it once the blinded elements are made (before or after they are
// sent), so that the requester's cores work while the provider evaluates. Resolve still verifies the
// proof before it opens anything.
func (q *Query) PrecomputeUnblind() { q.state.PrecomputeUnblind() }

// Blind blinds a batch of 1 to oprf.MaxBatch identifiers, under the
// Requester's blinding, with blinds drawn from rand (crypto/rand if nil),
// and returns the query state and the blinded
// elements to send (len(ids) x oprf.ElementSize bytes).
func (r *Requester) Blind(rand io.Reader, ids []ident.ID) (*Query, []byte, error) {
	if len(ids) == 0 {
		return nil, nil, ErrEmptyBatch
	}
	inputs := make([][]byte, len(ids))
	var buf []byte
	for i, id := range ids {
		start := len(buf)
		buf = id.AppendTo(buf)
		inputs[i] = buf[start:len(buf):len(buf)]
	}
	blind := r.client.Blind
	if r.blinding == oprf.BlindAdditive {
		blind = r.client.BlindAdditive
	}
	state, blinded, err := blind(rand, inputs)
	if err != nil {
		return nil, nil, err
	}
	return &Query{state: state}, blinded, nil
}

// Resolve verifies the provider's batched proof against the registered key,
// finalises the PRF outputs and looks each one up in the catalog. A proof
// that does not verify is an error (the answer must be disputed, not used):
// no result is returned for any identifier. So is a catalog whose file
// could not be read (catalog.Catalog.LookupAll): its misses may be wrong.
func (r *Requester) Resolve(q *Query, evaluated, proof []byte) ([]Result, error) {
	outputs, err := r.client.Finalize(q.state, evaluated, proof)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(outputs))
	if err := r.lookUp(results, outputs); err != nil {
		// A failed read of the catalog's file: its misses cannot be
		// trusted.
		return nil, err
	}
	return results, nil
}

// minLookUpShare is the fewest look-ups per core: each costs a microsecond
// or two (two hashes and three or four slot reads; a few more when the
// slots are read from the catalog's file, catalog.SetResidentBudget), so a
// goroutine pays for itself only past a few hundred of them.
const minLookUpShare = 256

// lookUpChunk is how many look-ups a core takes at a time, one
// catalog.LookupAll: a tenth of a millisecond or so, and enough slot reads
// to batch into one system call for a catalog held on disk.
const lookUpChunk = 128

// lookUp looks every output up in the catalog, on all cores for a large
// batch (the catalog is safe for concurrent use): serial, a 1,000-item
// batch's look-ups would leave one core idle for a millisecond or more.
// The cores take chunks as they come free (parallel.For), so a core that
// another process delays does not hold the batch back.
func (r *Requester) lookUp(results []Result, outputs [][oprf.OutputSize]byte) error {
	n := len(outputs)
	prfOutputs := make([][]byte, n)
	for i := range outputs {
		prfOutputs[i] = outputs[i][:]
	}
	answers := make([]catalog.Answer, n)
	workers := min(runtime.GOMAXPROCS(0), max(1, n/minLookUpShare))
	err := parallel.For(n, lookUpChunk, workers, func(_, lo, hi int) error {
		return r.catalog.LookupAll(prfOutputs[lo:hi], answers[lo:hi])
	})
	if err != nil {
		return err
	}
	for i, a := range answers {
		results[i] = Result{Hit: a.Found, Label: a.Label}
	}
	return nil
}
