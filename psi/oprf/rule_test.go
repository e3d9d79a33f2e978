package oprf

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"
	"sync"
	"testing"

	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"
)

var rules = []ProofRule{ProofBinding, ProofRFC9497, ProofBinding128}

// pointOf returns the edwards25519 point decoded from e's encoding.
func pointOf(t testing.TB, e *ristretto255.Element) *edwards25519.Point {
	t.Helper()
	var p edwards25519.Point
	if err := decodePoint(&p, e.Bytes()); err != nil {
		t.Fatal(err)
	}
	return &p
}

// weightedSums is the composites computed the plain way, over ristretto255
// elements with one multi-scalar multiplication per sum: the tests' own
// computation, independent of pointSums's edwards25519 points and shares.
// It returns the weights.
func (p *params) weightedSums(rule ProofRule, seed *[sha512.Size]byte, cs, ds []byte, sums []*ristretto255.Element, points ...[]ristretto255.Element) []ristretto255.Scalar {
	we := make([]edwards25519.Scalar, len(cs)/ElementSize)
	p.compositeWeights(rule, we, 0, seed, cs, ds)
	w := make([]ristretto255.Scalar, len(we))
	sp := make([]*ristretto255.Scalar, len(w))
	for i := range w {
		if _, err := w[i].SetCanonicalBytes(we[i].Bytes()); err != nil {
			panic(err)
		}
		sp[i] = &w[i]
	}
	for j, sum := range sums {
		pp := make([]*ristretto255.Element, len(w))
		for i := range pp {
			pp[i] = &points[j][i]
		}
		sum.VarTimeMultiScalarMult(sp, pp)
	}
	return w
}

// weights are the composite weights a verifier under rule derives for the
// batch (C = cs, D = ds) of the session's key and info.
func weights(c *Client, rule ProofRule, cs, ds []byte) []ristretto255.Scalar {
	seed := c.p.batchSeed(rule, &c.seed, &c.bEnc, cs, ds)
	return c.p.weightedSums(rule, &seed, cs, ds, nil)
}

// Under the binding rules, replacing any one element of a batch, blinded or
// evaluated, changes every weight, so a prover cannot fix one term of the
// weighted sum while it searches over another. Under RFC 9497's rule it
// changes that item's weight alone: the independence Wagner's k-tree
// algorithm needs.
func TestProofRuleWeights(t *testing.T) {
	const n = 5
	s := newSession(t, n)
	for _, rule := range rules {
		base := weights(s.client, rule, s.evaluated, s.blinded)
		for j := range n {
			for _, side := range []string{"evaluated", "blinded"} {
				t.Run(fmt.Sprintf("%v/%s/%d", rule, side, j), func(t *testing.T) {
					cs, ds := clone(s.evaluated), clone(s.blinded)
					target := cs
					if side == "blinded" {
						target = ds
					}
					copy(element(target, j), generatorBytes)
					got := weights(s.client, rule, cs, ds)
					for i := range n {
						changed := got[i].Equal(&base[i]) == 0
						want := rule != ProofRFC9497 || i == j
						if changed != want {
							t.Errorf("replacing %s element %d: weight %d changed = %v, want %v", side, j, i, changed, want)
						}
					}
				})
			}
		}
	}
}

// forge answers the session's request as a dishonest provider holding the
// tweaked key t: C[i] = D[i]/t + e[i]·G, proved by the honest prover over
// the forged batch under rule. It returns the answer and the composite M
// the prover proved.
func forge(t *testing.T, s *session, rule ProofRule, e []ristretto255.Scalar) ([]byte, [ProofSize]byte, ristretto255.Element) {
	t.Helper()
	ev, err := NewEvaluatorWithRule(s.sk, s.info, rule)
	if err != nil {
		t.Fatal(err)
	}
	n := len(e)
	cs := make([]ristretto255.Element, n)
	evaluated := make([]byte, n*ElementSize)
	for i := range n {
		var d, errPoint ristretto255.Element
		if err := decodeElement(&d, element(s.blinded, i)); err != nil {
			t.Fatal(err)
		}
		cs[i].ScalarMult(&ev.mult, &d)
		errPoint.ScalarBaseMult(&e[i])
		cs[i].Add(&cs[i], &errPoint)
		copy(element(evaluated, i), cs[i].Bytes())
	}
	seed := ev.p.batchSeed(rule, &ev.seed, &ev.b, evaluated, s.blinded)
	var m ristretto255.Element
	ev.p.weightedSums(rule, &seed, evaluated, s.blinded, []*ristretto255.Element{&m}, cs)
	var r ristretto255.Scalar
	if err := randomScalar(rand.Reader, &r); err != nil {
		t.Fatal(err)
	}
	var half edwards25519.Point
	half.ScalarMult(scalarHalf, pointOf(t, &m))
	return evaluated, ev.p.prove(&ev.proofKey, &r, &ev.b, &half, nil), m
}

// The reduction behind the rule change. A provider answering
// C[i] = D[i]/t + e_i·G leaves the verifier with t·M − Z = t·(Σ d_i·e_i)·G,
// and its proof is a valid DLEQ proof of (B, M, t·M): the answer is
// accepted exactly when the weighted sum Σ d_i·e_i is zero modulo ℓ. Under
// RFC 9497's rule each term d_i·e_i depends on item i alone, so a prover can
// list candidate terms per item and solve the k-list sum (Wagner); that
// search, about 2^34 hashes for 1,000 items, is too long to run here, and a
// tiny batch does not make it shorter: with two items d_2 depends on e_2
// through C[2], so "solve for e_2" is a fixed point of the hash. Under the
// binding rule every d_i depends on every e_j, so no term can be listed in
// isolation. Either way, this forged answer's sum is not zero: rejected.
func TestRFCRuleReduction(t *testing.T) {
	const n = 4
	s := newSession(t, n)
	e := make([]ristretto255.Scalar, n)
	for _, i := range []int{1, 3} { // items 0 and 2 stay honest
		if err := randomScalar(rand.Reader, &e[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, rule := range rules {
		t.Run(rule.String(), func(t *testing.T) {
			client, err := NewClientWithRule(s.sk.Public(), s.info, rule)
			if err != nil {
				t.Fatal(err)
			}
			evaluated, proof, m := forge(t, s, rule, e)
			tk := &s.ev.proofKey

			// What the verifier computes: M (equal to the prover's) and Z.
			ds := make([]ristretto255.Element, n)
			cs := make([]ristretto255.Element, n)
			for i := range n {
				_ = decodeElement(&ds[i], element(s.blinded, i))
				_ = decodeElement(&cs[i], element(evaluated, i))
			}
			seed := client.p.batchSeed(rule, &client.seed, &client.bEnc, evaluated, s.blinded)
			var vm, z ristretto255.Element
			w := client.p.weightedSums(rule, &seed, evaluated, s.blinded, []*ristretto255.Element{&vm, &z}, cs, ds)
			if vm.Equal(&m) != 1 {
				t.Fatal("the verifier's M differs from the prover's")
			}

			// t·M − Z = t·(Σ d_i·e_i)·G.
			var sum, zero ristretto255.Scalar
			for i := range n {
				var term ristretto255.Scalar
				term.Multiply(&w[i], &e[i])
				sum.Add(&sum, &term)
			}
			var tm, residual, want ristretto255.Element
			tm.ScalarMult(tk, &m)
			residual.Subtract(&tm, &z)
			var tsum ristretto255.Scalar
			tsum.Multiply(tk, &sum)
			want.ScalarBaseMult(&tsum)
			if residual.Equal(&want) != 1 {
				t.Fatal("t·M − Z is not t·(Σ d_i·e_i)·G")
			}
			if sum.Equal(&zero) == 1 {
				t.Fatal("a random forgery's weighted sum is zero (probability 2^-252)")
			}

			// The proof is sound for (B, M, t·M); only Z ≠ t·M rejects it.
			pc, ps, err := parseProof(proof[:])
			if err != nil {
				t.Fatal(err)
			}
			if !client.p.verify(&client.b, &client.bEnc, nil, pointOf(t, &m), pointOf(t, &tm), &pc, &ps) {
				t.Fatal("the forger's proof does not even verify for Z = t·M")
			}
			if err := client.VerifyProof(s.blinded, evaluated, proof[:]); !errors.Is(err, ErrProofVerification) {
				t.Fatalf("forged answer: VerifyProof = %v, want ErrProofVerification", err)
			}

			// Honest errors (all zero) give a zero sum: accepted.
			honest, hproof, _ := forge(t, s, rule, make([]ristretto255.Scalar, n))
			if !bytes.Equal(honest, s.evaluated) {
				t.Fatal("zero errors did not give the honest evaluation")
			}
			if err := client.VerifyProof(s.blinded, honest, hproof[:]); err != nil {
				t.Fatalf("honest answer: %v", err)
			}
		})
	}
}

// A proof verifies only under the rule it was made with: a requester
// expecting the binding rule refuses an RFC 9497 proof of the same honest
// answer, and an auditor checking an old transcript under RFC 9497's rule
// refuses a binding proof.
func TestProofRulesDoNotMix(t *testing.T) {
	s := newSession(t, 3)
	for _, made := range rules {
		ev, err := NewEvaluatorWithRule(s.sk, s.info, made)
		if err != nil {
			t.Fatal(err)
		}
		evaluated, proof, err := ev.BlindEvaluate(rand.Reader, s.blinded)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(evaluated, s.evaluated) {
			t.Fatal("the rule changed the evaluation")
		}
		for _, checked := range rules {
			t.Run(fmt.Sprintf("made %v, checked %v", made, checked), func(t *testing.T) {
				c, err := NewClientWithRule(s.sk.Public(), s.info, checked)
				if err != nil {
					t.Fatal(err)
				}
				err = c.VerifyProof(s.blinded, evaluated, proof[:])
				if made == checked && err != nil {
					t.Fatalf("VerifyProof = %v", err)
				}
				if made != checked && !errors.Is(err, ErrProofVerification) {
					t.Fatalf("VerifyProof = %v, want ErrProofVerification", err)
				}
			})
		}
	}
	t.Run("unknown rule", func(t *testing.T) {
		if _, err := NewClientWithRule(s.sk.Public(), s.info, ProofRule(3)); !errors.Is(err, ErrProofRule) {
			t.Fatalf("NewClientWithRule = %v", err)
		}
		if _, err := NewEvaluatorWithRule(s.sk, s.info, ProofRule(3)); !errors.Is(err, ErrProofRule) {
			t.Fatalf("NewEvaluatorWithRule = %v", err)
		}
		if _, err := s.ev.WithRule(ProofRule(3)); !errors.Is(err, ErrProofRule) {
			t.Fatalf("WithRule = %v", err)
		}
	})
}

// repeating is a broken random source: the same bytes on every read.
type repeating byte

func (r repeating) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// Two proofs under one key that share a nonce give the key away:
// s_j = r − c_j·t, so t = (s_1 − s_2)/(c_2 − c_1). With a source that
// repeats itself, RFC 9497's nonce repeats and the tweaked key leaks; the
// hedged nonce hashes the key and the batch, so it does not.
func TestHedgedNonce(t *testing.T) {
	s := newSession(t, 3)
	_, other, err := s.client.Blind(rand.Reader, [][]byte{[]byte("device:1"), []byte("device:2")})
	if err != nil {
		t.Fatal(err)
	}
	leaks := func(t *testing.T, rule ProofRule) bool {
		t.Helper()
		ev, err := NewEvaluatorWithRule(s.sk, s.info, rule)
		if err != nil {
			t.Fatal(err)
		}
		_, p1, err := ev.BlindEvaluate(repeating(7), s.blinded)
		if err != nil {
			t.Fatal(err)
		}
		_, p2, err := ev.BlindEvaluate(repeating(7), other)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Equal(sharedNonceKey(p1, p2), ev.b[:])
	}
	if !leaks(t, ProofRFC9497) {
		t.Fatal("RFC 9497's nonce from a repeating source did not leak the key: the extraction is wrong")
	}
	for _, rule := range []ProofRule{ProofBinding, ProofBinding128} {
		if leaks(t, rule) {
			t.Fatalf("the hedged nonce under %v from a repeating source leaked the key", rule)
		}
	}
}

// sharedNonceKey is t·G for the t that two proofs with one nonce r give
// away, s_j = r − c_j·t: t = (s_1 − s_2)/(c_2 − c_1). Proofs with two
// nonces give an unrelated element.
func sharedNonceKey(p1, p2 [ProofSize]byte) []byte {
	c1, s1, _ := parseProof(p1[:])
	c2, s2, _ := parseProof(p2[:])
	var num, den, k ristretto255.Scalar
	num.Subtract(&s1, &s2)
	den.Subtract(&c2, &c1)
	den.Invert(&den)
	k.Multiply(&num, &den)
	var kG ristretto255.Element
	kG.ScalarBaseMult(&k)
	return kG.Bytes()
}

// The nonce hashes the batch seed, and the two binding rules seed one
// batch under different labels: a provider answering the same request
// under both rules, with a source that repeats itself, does not reuse its
// nonce under two challenges, which would give the key away.
func TestHedgedNonceAcrossRules(t *testing.T) {
	s := newSession(t, 3)
	var proofs [2][ProofSize]byte
	for k, rule := range []ProofRule{ProofBinding, ProofBinding128} {
		ev, err := s.ev.WithRule(rule)
		if err != nil {
			t.Fatal(err)
		}
		if _, proofs[k], err = ev.BlindEvaluate(repeating(7), s.blinded); err != nil {
			t.Fatal(err)
		}
	}
	if bytes.Equal(proofs[0][:ScalarSize], proofs[1][:ScalarSize]) {
		t.Fatal("two rules gave one challenge: the extraction would divide by zero")
	}
	if bytes.Equal(sharedNonceKey(proofs[0], proofs[1]), s.ev.b[:]) {
		t.Fatal("one batch proved under both binding rules from a repeating source leaked the key")
	}
}

func TestFinalizeStateUsedOnce(t *testing.T) {
	t.Run("twice", func(t *testing.T) {
		s := newSession(t, 2)
		if _, err := s.client.Finalize(s.state, s.evaluated, s.proof); err != nil {
			t.Fatal(err)
		}
		if _, err := s.client.Finalize(s.state, s.evaluated, s.proof); !errors.Is(err, ErrStateUsed) {
			t.Fatalf("second Finalize = %v, want ErrStateUsed", err)
		}
		for i := range s.state.blinds {
			var zero ristretto255.Scalar
			if s.state.blinds[i].Equal(&zero) != 1 {
				t.Fatalf("blind %d not wiped after Finalize", i)
			}
		}
	})
	t.Run("a rejected answer leaves it usable", func(t *testing.T) {
		s := newSession(t, 2)
		bad := with(s.proof, func(b []byte) { b[0] ^= 1 })
		if _, err := s.client.Finalize(s.state, s.evaluated, bad); !errors.Is(err, ErrProofVerification) {
			t.Fatalf("tampered proof: %v", err)
		}
		if _, err := s.client.Finalize(s.state, s.evaluated, s.proof); err != nil {
			t.Fatalf("honest answer after a rejected one: %v", err)
		}
	})
	t.Run("concurrently", func(t *testing.T) {
		s := newSession(t, 40)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { _, errs[i] = s.client.Finalize(s.state, s.evaluated, s.proof) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, ErrStateUsed):
				t.Fatalf("Finalize = %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d concurrent Finalize calls succeeded, want 1", ok)
		}
	})
}

// countingReader counts the random bytes drawn from it.
type countingReader struct{ n int }

func (r *countingReader) Read(p []byte) (int, error) {
	r.n += len(p)
	return rand.Read(p)
}

// BlindEvaluate decodes the whole batch before it draws its proof
// randomness, and evaluates only after that: a batch spoilt by its last
// element is refused before any scalar multiplication, so it costs the
// provider a decoding pass, not an evaluation it could not bill.
func TestBlindEvaluateDecodesEveryElementFirst(t *testing.T) {
	s := newSession(t, 4*chunkSize)
	n := len(s.inputs)
	for _, tc := range []struct {
		name  string
		spoil func([]byte)
		want  error
	}{
		{"non-canonical", func(b []byte) { copy(b[len(b)-ElementSize:], nonCanonical) }, ErrInvalidElement},
		{"identity", func(b []byte) { clear(b[len(b)-ElementSize:]) }, ErrIdentityElement},
		{"canonical and non-negative, not an element", func(b []byte) { copy(b[len(b)-ElementSize:], notAnElement(t)) }, ErrInvalidElement},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r countingReader
			evaluated, _, err := s.ev.BlindEvaluate(&r, with(s.blinded, tc.spoil))
			var ee *ElementError
			if !errors.As(err, &ee) || ee.Index != n-1 || !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v at element %d", err, tc.want, n-1)
			}
			if evaluated != nil || r.n != 0 {
				t.Fatalf("refused after drawing %d random bytes: evaluation had begun", r.n)
			}
		})
	}
	t.Run("an honest batch draws its randomness", func(t *testing.T) {
		var r countingReader
		if _, _, err := s.ev.BlindEvaluate(&r, s.blinded); err != nil || r.n != uniformSize {
			t.Fatalf("honest batch: error %v, %d random bytes drawn, want %d", err, r.n, uniformSize)
		}
	})
}

func TestNilKeys(t *testing.T) {
	var pub *PublicKey
	if pub.KeyID() != (KeyID{}) {
		t.Error("nil key has a non-zero key id")
	}
	if pub.Equal(pub) {
		t.Error("nil key equals itself")
	}
	if _, err := pub.MarshalBinary(); !errors.Is(err, ErrInvalidPublicKey) {
		t.Errorf("nil public key MarshalBinary = %v", err)
	}
	var sk *PrivateKey
	if sk.Public() != nil {
		t.Error("nil private key has a public key")
	}
	if _, err := sk.MarshalBinary(); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Errorf("nil private key MarshalBinary = %v", err)
	}
	if _, err := NewClientWithRule(nil, nil, ProofRFC9497); !errors.Is(err, ErrInvalidPublicKey) {
		t.Errorf("NewClientWithRule(nil) = %v", err)
	}
	if _, err := NewEvaluatorWithRule(nil, nil, ProofRFC9497); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Errorf("NewEvaluatorWithRule(nil) = %v", err)
	}
}

// notAnElement returns the smallest even s below 256 (canonical and
// non-negative) that RFC 9496 decoding still rejects: its ratio is not a
// square, or it decodes to a point with a negative t or y = 0.
func notAnElement(t *testing.T) []byte {
	t.Helper()
	for v := 2; v < 256; v += 2 {
		b := make([]byte, ElementSize)
		b[0] = byte(v)
		var e ristretto255.Element
		if _, err := e.SetCanonicalBytes(b); err != nil {
			return b
		}
	}
	t.Fatal("every small even s decodes")
	return nil
}
