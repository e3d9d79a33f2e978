package oprf

import (
	"crypto/sha512"
	"io"

	"github.com/gtank/ristretto255"
)

// identity is read-only: the value HashToGroup must never return.
var identity = ristretto255.NewIdentityElement()

// Evaluator is the provider side of the POPRF for one (key, info) pair:
// RiskMesh makes one per (category, period). It precomputes the tweaked
// secret t = skS + m (m the info scalar) and 1/t, so each evaluation is a
// single constant-time scalar multiplication. Safe for concurrent use.
type Evaluator struct {
	p    *params
	info []byte
	// mult multiplies inputs: 1/t for POPRF, skS for OPRF and VOPRF.
	mult ristretto255.Scalar
	// proofKey is the DLEQ witness: t for POPRF, skS for VOPRF.
	proofKey ristretto255.Scalar
	// b is the proof's B = proofKey·G, and seed its composite seed.
	b    [ElementSize]byte
	seed [sha512.Size]byte
}

// NewEvaluator prepares POPRF evaluation under key and the public info
// (RiskMesh: "riskmesh/v1|<category>|<period>"). It fails if info is longer
// than MaxInfoLen or if skS + m = 0, which RFC 9497 calls an InverseError and
// which only a key chosen against this info can hit.
func NewEvaluator(key *PrivateKey, info []byte) (*Evaluator, error) {
	return newEvaluator(poprf, key, info)
}

func newEvaluator(p *params, key *PrivateKey, info []byte) (*Evaluator, error) {
	if key == nil || !key.pub.valid {
		return nil, ErrInvalidPrivateKey
	}
	ev := &Evaluator{p: p, info: append([]byte(nil), info...)}
	if p.mode == modePOPRF {
		m, err := p.infoScalar(info)
		if err != nil {
			return nil, err
		}
		var zero ristretto255.Scalar
		ev.proofKey.Add(&key.k, &m)
		if ev.proofKey.Equal(&zero) == 1 {
			return nil, ErrInvalidInfo
		}
		ev.mult.Invert(&ev.proofKey)
		var b ristretto255.Element
		b.ScalarBaseMult(&ev.proofKey)
		copy(ev.b[:], b.Bytes())
	} else {
		ev.mult.Set(&key.k)
		ev.proofKey.Set(&key.k)
		ev.b = key.pub.enc
	}
	ev.seed = p.compositeSeed(&ev.b)
	return ev, nil
}

// Evaluate is RFC 9497 EvaluateFull: the PRF output for input, computed
// directly with the key. Providers use it (or EvaluateBatch) to build their
// catalog; it equals what a client's Finalize returns for the same input.
func (e *Evaluator) Evaluate(input []byte) ([OutputSize]byte, error) {
	var out [OutputSize]byte
	_, err := e.evaluateFull(&out, nil, input)
	return out, err
}

// EvaluateBatch evaluates inputs[i] into out[i] on all cores. len(out) must
// equal len(inputs); there is no MaxBatch bound (no proof is involved), so
// a catalog build can pass millions of inputs, or stream chunks of them.
// On error, out holds partial results and the error is an *InputError.
func (e *Evaluator) EvaluateBatch(out [][OutputSize]byte, inputs [][]byte) error {
	if len(out) != len(inputs) {
		return ErrOutputLength
	}
	workers := workersFor(len(inputs))
	bufs := make([][]byte, workers)
	return parallel(len(inputs), workers, func(w, lo, hi int) error {
		for i := lo; i < hi; i++ {
			var err error
			if bufs[w], err = e.evaluateFull(&out[i], bufs[w], inputs[i]); err != nil {
				return &InputError{Index: i, Err: err}
			}
		}
		return nil
	})
}

func (e *Evaluator) evaluateFull(out *[OutputSize]byte, buf, input []byte) ([]byte, error) {
	if len(input) > MaxInputLen {
		return buf, ErrInputTooLong
	}
	var h ristretto255.Element
	e.p.hashToGroup(&h, input)
	if h.Equal(identity) == 1 {
		return buf, ErrInputToIdentity
	}
	h.ScalarMult(&e.mult, &h)
	var enc [ElementSize]byte
	copy(enc[:], h.Bytes())
	return e.p.finalizeHash(out, buf, input, e.info, &enc), nil
}

// BlindEvaluate is RFC 9497 BlindEvaluate over a whole batch: it decodes the
// flat array of blinded elements (rejecting bad ones with an *ElementError),
// multiplies each by 1/t, and proves all of them with ONE batched DLEQ proof
// whose nonce is drawn from rand (crypto/rand if nil). The evaluated
// elements come back as a flat array in the same order.
func (e *Evaluator) BlindEvaluate(rand io.Reader, blinded []byte) (evaluated []byte, proof [ProofSize]byte, err error) {
	n, err := BatchLen(blinded)
	if err != nil {
		return nil, proof, err
	}
	var r ristretto255.Scalar
	if e.p.mode != modeOPRF {
		if err := randomScalar(rand, &r); err != nil {
			return nil, proof, err
		}
	}
	evaluated = make([]byte, n*ElementSize)
	bases := make([]ristretto255.Element, n) // C[i], the composite bases
	d := make([]ristretto255.Scalar, n)
	workers := workersFor(n)
	bufs := make([][]byte, workers)
	err = parallel(n, workers, func(w, lo, hi int) error {
		buf := bufs[w]
		var in, out ristretto255.Element
		for i := lo; i < hi; i++ {
			bi := element(blinded, i)
			if err := decodeElement(&in, bi); err != nil {
				return &ElementError{Index: i, Err: err}
			}
			out.ScalarMult(&e.mult, &in)
			copy(element(evaluated, i), out.Bytes())
			ei := element(evaluated, i)
			if e.p.mode == modePOPRF {
				bases[i].Set(&out)
				buf = e.p.compositeScalar(&d[i], buf, &e.seed, i, ei, bi)
			} else {
				bases[i].Set(&in)
				buf = e.p.compositeScalar(&d[i], buf, &e.seed, i, bi, ei)
			}
		}
		bufs[w] = buf
		return nil
	})
	if err != nil {
		return nil, proof, err
	}
	if e.p.mode == modeOPRF {
		return evaluated, proof, nil
	}
	var m ristretto255.Element
	msm(&m, d, bases)
	proof = e.p.prove(&e.proofKey, &r, &e.b, &m)
	r.Zero()
	return evaluated, proof, nil
}
