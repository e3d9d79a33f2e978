package oprf

import (
	"crypto/sha512"
	"io"
	"sync"
	"sync/atomic"

	"filippo.io/edwards25519"
	r255 "github.com/bwesterb/go-ristretto"
	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/psi/internal/parallel"
	"github.com/riskmesh/riskmesh/psi/internal/ristretto"
)

// Client is the requester side of the POPRF for one provider key and info
// string. It precomputes the tweaked key B = m·G + pkS that every proof is
// checked against and, on PrecomputeAdditive or the first BlindAdditive, a
// fixed-base table of B (30 KiB, built in one to two milliseconds) that it
// keeps for its life:
// callers that keep one Client per provider, category and period, as
// RiskMesh's catalog requesters do, hold one table per catalog. Safe for
// concurrent use; each batch has its own BlindState.
type Client struct {
	p    *params
	rule ProofRule
	info []byte
	b    edwards25519.Point
	bEnc [ElementSize]byte
	seed [sha512.Size]byte
	once sync.Once
	// table is B's fixed-base table once built: additive blinding's r·B,
	// and the proof's c·B when there is one (params.verify). A Finalize
	// may run while another goroutine builds it, hence the atomic.
	table atomic.Pointer[r255.ScalarMultTable]
}

// NewClient prepares requests to the holder of pub under the public info,
// accepting only proofs made under ProofBinding128. It fails if pub is nil or
// invalid, if info is longer than MaxInfoLen or if m·G + pkS is the
// identity (RFC 9497 InvalidInputError: the key was chosen to cancel this
// info).
func NewClient(pub *PublicKey, info []byte) (*Client, error) {
	return newClient(poprf, pub, info, ProofBinding128)
}

// NewClientWithRule is NewClient accepting only proofs made under rule:
// auditors check a transcript under the rule it records.
func NewClientWithRule(pub *PublicKey, info []byte, rule ProofRule) (*Client, error) {
	return newClient(poprf, pub, info, rule)
}

func newClient(p *params, pub *PublicKey, info []byte, rule ProofRule) (*Client, error) {
	if pub == nil || !pub.valid {
		return nil, ErrInvalidPublicKey
	}
	if !rule.Valid() {
		return nil, ErrProofRule
	}
	c := &Client{p: p, rule: rule, info: append([]byte(nil), info...)}
	if p.mode == modePOPRF {
		m, err := p.infoScalar(info)
		if err != nil {
			return nil, err
		}
		var b ristretto255.Element
		b.ScalarBaseMult(&m)
		b.Add(&b, &pub.e)
		if b.Equal(identity) == 1 {
			return nil, ErrInvalidInfo
		}
		copy(c.bEnc[:], b.Bytes())
	} else {
		c.bEnc = pub.enc
	}
	// bEnc encodes a valid element that is not the identity.
	if err := decodePoint(&c.b, c.bEnc[:]); err != nil {
		return nil, err
	}
	c.seed = p.compositeSeed(&c.bEnc)
	return c, nil
}

// BlindState is what Finalize needs from Blind or BlindAdditive: copies of
// the inputs, the blinding used, the secret blinds and the blinded
// elements. It holds secrets: keep it in memory only, and drop it after
// Finalize. One state answers one request: Finalize consumes it.
type BlindState struct {
	inputs   [][]byte
	blinding Blinding
	// b is the tweaked key an additive state was blinded with: its
	// unblinding is right only under that key, so Finalize refuses the
	// state from a Client with another key or info.
	b      [ElementSize]byte
	blinds []ristretto255.Scalar
	// blinded are the blinded elements as edwards25519 points, kept for
	// the proof's composite (convert.go), and blindedEnc their encodings,
	// which the proof's seed and weights hash.
	blinded    []edwards25519.Point
	blindedEnc []byte
	// ahead is an additive state's unblinding terms r_i·G computed before
	// the answer came (PrecomputeUnblind).
	ahead unblinding
	// used is set while a Finalize runs and stays set once one succeeded.
	used atomic.Bool
}

// Len is the number of inputs in the batch (0 for a nil state).
func (st *BlindState) Len() int {
	if st == nil {
		return 0
	}
	return len(st.inputs)
}

// Blind is RFC 9497 Blind over a batch of 1 to MaxBatch inputs: blinded[i] =
// r_i·HashToGroup(inputs[i]) with fresh secret blinds r_i drawn from rand
// (64 bytes each; crypto/rand if nil). It returns the state for Finalize and
// the flat array of blinded elements to send. The inputs are copied.
func (c *Client) Blind(rand io.Reader, inputs [][]byte) (*BlindState, []byte, error) {
	return c.blind(rand, inputs, BlindMultiplicative)
}

// BlindAdditive is Blind with additive blinding (BlindAdditive):
// blinded[i] = HashToGroup(inputs[i]) + r_i·B, B the tweaked key of the
// Client's public key and info, with fixed-base multiplications only. Use it
// only when the public key is the provider's verified key (RiskMesh: the
// one registered on the ledger). Finalize's outputs equal Blind's.
func (c *Client) BlindAdditive(rand io.Reader, inputs [][]byte) (*BlindState, []byte, error) {
	if c.p.mode != modePOPRF {
		return nil, nil, ErrBlinding
	}
	c.PrecomputeAdditive()
	return c.blind(rand, inputs, BlindAdditive)
}

// PrecomputeAdditive builds the fixed-base table BlindAdditive uses now,
// rather than on the first BlindAdditive, so that no query waits for it:
// callers that prepare a Client when a catalog is loaded call it there. It
// does nothing outside POPRF or once the table exists.
func (c *Client) PrecomputeAdditive() {
	if c.p.mode == modePOPRF {
		c.once.Do(c.buildTable)
	}
}

func (c *Client) blind(rand io.Reader, inputs [][]byte, blinding Blinding) (*BlindState, []byte, error) {
	n := len(inputs)
	if n == 0 {
		return nil, nil, ErrEmptyBatch
	}
	if n > MaxBatch {
		return nil, nil, ErrBatchTooLarge
	}
	total := 0
	for i, in := range inputs {
		if len(in) > MaxInputLen {
			return nil, nil, &InputError{Index: i, Err: ErrInputTooLong}
		}
		total += len(in)
	}
	flat := make([]byte, 0, total)
	st := &BlindState{
		inputs:     make([][]byte, n),
		blinding:   blinding,
		b:          c.bEnc,
		blinds:     make([]ristretto255.Scalar, n),
		blinded:    make([]edwards25519.Point, n),
		blindedEnc: make([]byte, n*ElementSize),
	}
	for i, in := range inputs {
		start := len(flat)
		flat = append(flat, in...)
		st.inputs[i] = flat[start:len(flat):len(flat)]
	}
	random := make([]byte, n*uniformSize)
	defer clear(random)
	if err := readRandom(rand, random); err != nil {
		return nil, nil, err
	}
	blind := c.blindMultiplicative
	if blinding == BlindAdditive {
		blind = c.blindAdditive
	}
	err := parallel.For(n, chunkSize, workersFor(n), func(_, lo, hi int) error {
		for i := lo; i < hi; i++ {
			if err := setUniformNonZero(&st.blinds[i], random[i*uniformSize:(i+1)*uniformSize]); err != nil {
				return err
			}
			if err := blind(&st.blinded[i], element(st.blindedEnc, i), &st.blinds[i], st.inputs[i]); err != nil {
				return &InputError{Index: i, Err: err}
			}
		}
		return nil
	})
	if err != nil {
		clear(st.blinds)
		return nil, nil, err
	}
	return st, append([]byte(nil), st.blindedEnc...), nil
}

// Finalize is RFC 9497 Finalize over a batch: it decodes the provider's
// flat array of evaluated elements, verifies the batched proof against the
// tweaked key under the Client's rule FIRST, and only then unblinds and
// hashes each element into its 64-byte output, in input order. It unblinds
// as the state was blinded: (1/r_i)·C_i with one batch inversion of the
// blinds per chunk, or C_i − r_i·G, taking the r_i·G that
// BlindState.PrecomputeUnblind computed while the answer was awaited.
//
// A state is finalised once: after a success its blinds are wiped and
// another Finalize (or one running concurrently) fails with ErrStateUsed.
// An answer that fails verification leaves the state for a correct one.
func (c *Client) Finalize(st *BlindState, evaluated, proof []byte) ([][OutputSize]byte, error) {
	if st == nil || len(st.inputs) == 0 {
		return nil, ErrNilState
	}
	if st.blinding == BlindAdditive && st.b != c.bEnc {
		return nil, ErrStateKey
	}
	if !st.used.CompareAndSwap(false, true) {
		return nil, ErrStateUsed
	}
	elems, err := c.verifyBatch(st.blindedEnc, st.blinded, evaluated, proof)
	if err != nil {
		st.used.Store(false)
		return nil, err
	}
	defer clear(st.blinds)
	ready := st.ahead.take()
	defer clear(ready)
	n := len(st.inputs)
	outputs := make([][OutputSize]byte, n)
	type scratch struct {
		buf []byte
		inv [chunkSize]ristretto255.Scalar
	}
	workers := workersFor(n)
	scratches := make([]scratch, workers)
	defer func() {
		for i := range scratches {
			clear(scratches[i].inv[:])
		}
	}()
	additive := st.blinding == BlindAdditive
	err = parallel.For(n, chunkSize, workers, func(w, lo, hi int) error {
		sc := &scratches[w]
		if !additive {
			batchInvert(sc.inv[:hi-lo], st.blinds[lo:hi])
		}
		var u edwards25519.Point
		var s edwards25519.Scalar
		var enc [ElementSize]byte
		for i := lo; i < hi; i++ {
			switch {
			case i < len(ready):
				u.Subtract(&elems[i], &ready[i])
			case additive:
				toEdwardsScalar(&s, &st.blinds[i])
				u.ScalarBaseMult(&s)
				u.Subtract(&elems[i], &u)
			default:
				toEdwardsScalar(&s, &sc.inv[i-lo])
				u.ScalarMult(&s, &elems[i])
			}
			encodePoint(enc[:], &u)
			sc.buf = c.p.finalizeHash(&outputs[i], sc.buf, st.inputs[i], c.info, &enc)
		}
		s = edwards25519.Scalar{}
		return nil
	})
	return outputs, err
}

// blindMultiplicative is RFC 9497's blinding of one input: it sets dst to
// r·HashToGroup(input) and writes its encoding to enc.
func (c *Client) blindMultiplicative(dst *edwards25519.Point, enc []byte, r *ristretto255.Scalar, input []byte) error {
	var h r255.Point
	if !c.p.hashToPoint(&h, input) {
		return ErrInputToIdentity
	}
	var he edwards25519.Point
	if err := ristretto.FromGoRistretto(&he, &h); err != nil {
		return err
	}
	var s edwards25519.Scalar
	toEdwardsScalar(&s, r)
	dst.ScalarMult(&s, &he)
	s = edwards25519.Scalar{}
	encodePoint(enc, dst)
	return nil
}
