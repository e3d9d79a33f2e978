package oprf

import (
	"crypto/sha512"
	"io"

	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/psi/internal/parallel"
	"github.com/riskmesh/riskmesh/psi/internal/ristretto"
)

// identity is read-only: the value HashToGroup must never return.
var identity = ristretto255.NewIdentityElement()

// Evaluator is the provider side of the POPRF for one (key, info) pair:
// RiskMesh makes one per (category, period). It precomputes the tweaked
// secret t = skS + m (m the info scalar) and 1/t, so each evaluation is a
// single constant-time scalar multiplication. Safe for concurrent use.
type Evaluator struct {
	p    *params
	rule ProofRule
	info []byte
	// mult multiplies inputs: 1/t for POPRF, skS for OPRF and VOPRF, and
	// halfMult is mult/2, which BlindEvaluate multiplies by so that it can
	// encode the doubles in batches (psi/internal/ristretto).
	mult     ristretto255.Scalar
	halfMult edwards25519.Scalar
	// proofKey is the DLEQ witness: t for POPRF, skS for VOPRF, and
	// proofKeyEnc its encoding, which the hedged nonce hashes.
	proofKey    ristretto255.Scalar
	proofKeyEnc [ScalarSize]byte
	// b is the proof's B = proofKey·G, and seed RFC 9497's composite seed.
	b    [ElementSize]byte
	seed [sha512.Size]byte
}

// NewEvaluator prepares POPRF evaluation under key and the public info
// (RiskMesh: "riskmesh/v1|<category>|<period>"), proving under
// ProofBinding128. It fails if key is nil or invalid, if info is longer than
// MaxInfoLen, or if skS + m = 0, which RFC 9497 calls an InverseError and
// which only a key chosen against this info can hit.
func NewEvaluator(key *PrivateKey, info []byte) (*Evaluator, error) {
	return newEvaluator(poprf, key, info, ProofBinding128)
}

// NewEvaluatorWithRule is NewEvaluator proving under rule. Only tests that
// reproduce RFC 9497 proofs (interop, old transcripts) want ProofRFC9497.
func NewEvaluatorWithRule(key *PrivateKey, info []byte, rule ProofRule) (*Evaluator, error) {
	return newEvaluator(poprf, key, info, rule)
}

// WithRule returns an Evaluator with e's key and info proving under rule,
// sharing e's precomputation: a provider answers each request under the
// rule its signed header asks for (ProofBinding or ProofBinding128) from one
// cached Evaluator.
func (e *Evaluator) WithRule(rule ProofRule) (*Evaluator, error) {
	if !rule.Valid() {
		return nil, ErrProofRule
	}
	ev := *e
	ev.rule = rule
	return &ev, nil
}

func newEvaluator(p *params, key *PrivateKey, info []byte, rule ProofRule) (*Evaluator, error) {
	if key == nil || !key.pub.valid {
		return nil, ErrInvalidPrivateKey
	}
	if !rule.Valid() {
		return nil, ErrProofRule
	}
	ev := &Evaluator{p: p, rule: rule, info: append([]byte(nil), info...)}
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
	// mult is canonical, so the conversion cannot fail.
	_, _ = ev.halfMult.SetCanonicalBytes(ev.mult.Bytes())
	ev.halfMult.Multiply(&ev.halfMult, scalarHalf)
	copy(ev.proofKeyEnc[:], ev.proofKey.Bytes())
	ev.seed = p.compositeSeed(&ev.b)
	return ev, nil
}

// scalarHalf is 1/2 modulo the group order.
var scalarHalf = func() *edwards25519.Scalar {
	two := [ScalarSize]byte{2}
	s, _ := edwards25519.NewScalar().SetCanonicalBytes(two[:])
	return s.Invert(s)
}()

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
	return parallel.For(len(inputs), chunkSize, workers, func(w, lo, hi int) error {
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

// BlindEvaluate is RFC 9497 BlindEvaluate over a whole batch: it decodes
// every element of the flat array of blinded elements first (rejecting a
// bad one with an *ElementError before any is evaluated, so a batch spoilt
// by its last element costs a decoding pass, not an evaluation), multiplies
// each by 1/t, and proves all of them with ONE batched DLEQ proof under the
// Evaluator's rule, its nonce hedged with 64 bytes from rand (crypto/rand
// if nil). The evaluated elements come back as a flat array in the same
// order.
//
// It works on edwards25519 representatives (psi/internal/ristretto): each blinded
// element D is multiplied by mult/2 into Q, and the evaluated element
// 2·Q = mult·D is encoded with one field inversion per chunk instead of an
// inverse square root per element. The proof's composite sums the same
// points: M = Σ d_i·C[i] = 2·Σ d_i·Q[i].
func (e *Evaluator) BlindEvaluate(rand io.Reader, blinded []byte) (evaluated []byte, proof [ProofSize]byte, err error) {
	n, err := BatchLen(blinded)
	if err != nil {
		return nil, proof, err
	}
	points := make([]edwards25519.Point, n)
	if err := decodeBatch(points, blinded, decodePoint); err != nil {
		return nil, proof, err
	}
	var fresh [uniformSize]byte
	defer clear(fresh[:])
	if e.p.mode != modeOPRF {
		if err := readRandom(rand, fresh[:]); err != nil {
			return nil, proof, err
		}
	}
	// POPRF proves C = evaluated, D = blinded and halves the inputs in
	// place; VOPRF proves C = blinded, D = evaluated and keeps the inputs,
	// its composite's bases.
	halves := points
	if e.p.mode == modeVOPRF {
		halves = make([]edwards25519.Point, n)
	}
	// single keeps a one-item batch's blinded element for Z (below).
	var single [1]edwards25519.Point
	single[0].Set(&points[0])
	evaluated = make([]byte, n*ElementSize)
	_ = parallel.For(n, chunkSize, workersFor(n), func(_, lo, hi int) error {
		for i := lo; i < hi; i++ {
			halves[i].ScalarMult(&e.halfMult, &points[i])
		}
		ristretto.DoubleAndEncode(evaluated[lo*ElementSize:hi*ElementSize], halves[lo:hi])
		return nil
	})
	if e.p.mode == modeOPRF {
		return evaluated, proof, nil
	}
	cs, ds := evaluated, blinded
	if e.p.mode == modeVOPRF {
		cs, ds = blinded, evaluated
	}
	seed := e.p.batchSeed(e.rule, &e.seed, &e.b, cs, ds)
	// half is M/2: Σ d_i·Q[i] under POPRF; under VOPRF Σ d_i·D[i] halved.
	// A one-item POPRF batch also sums Z = d_0·D[0] from the blinded
	// element, public like the weight: a variable-time multiplication by
	// a 128-bit weight (dleq.WeightedSums) costs less than the
	// constant-time Z = t·M that prove computes otherwise.
	var half, z edwards25519.Point
	var zp *edwards25519.Point
	switch {
	case e.p.mode == modePOPRF && n == 1:
		e.p.pointSums(e.rule, &seed, cs, ds, []*edwards25519.Point{&half, &z}, halves, single[:])
		zp = &z
	case e.p.mode == modePOPRF:
		e.p.pointSums(e.rule, &seed, cs, ds, []*edwards25519.Point{&half}, halves)
	default:
		e.p.pointSums(e.rule, &seed, cs, ds, []*edwards25519.Point{&half}, points)
		half.VarTimeDoubleScalarBaseMult(scalarHalf, &half, edwards25519.NewScalar())
	}
	var r ristretto255.Scalar
	if err := e.p.nonce(&r, e.rule, &e.proofKeyEnc, &seed, fresh[:]); err != nil {
		return nil, proof, err
	}
	proof = e.p.prove(&e.proofKey, &r, &e.b, &half, zp)
	r.Zero()
	return evaluated, proof, nil
}
