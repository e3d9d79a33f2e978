package oprf

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/gtank/ristretto255"
)

// FuzzValidateElements: any byte string is either rejected or a batch whose
// elements re-encode to exactly the input (canonical encodings only).
func FuzzValidateElements(f *testing.F) {
	s := newSession(f, 3)
	f.Add(s.blinded)
	f.Add(s.evaluated[:32])
	f.Add(append(clone(s.blinded), 0))
	f.Add(make([]byte, 32))
	f.Add(nonCanonical)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := ValidateElements(data)
		if err != nil {
			if n != 0 {
				t.Fatalf("count %d with error %v", n, err)
			}
			return
		}
		if n != len(data)/ElementSize || n == 0 || len(data)%ElementSize != 0 {
			t.Fatalf("accepted %d bytes as %d elements", len(data), n)
		}
		var e ristretto255.Element
		for i := range n {
			if _, err := e.SetCanonicalBytes(element(data, i)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(e.Bytes(), element(data, i)) {
				t.Fatalf("element %d does not round-trip", i)
			}
		}
	})
}

// FuzzValidateProof: accepted proofs are two canonical scalars that
// re-encode to the input.
func FuzzValidateProof(f *testing.F) {
	s := newSession(f, 1)
	f.Add(s.proof)
	f.Add(s.proof[:63])
	f.Add(append(clone(s.proof), 0))
	f.Add(append(clone(nonCanonical), nonCanonical...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := ValidateProof(data); err != nil {
			return
		}
		c, sc, err := parseProof(data)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(append(c.Bytes(), sc.Bytes()...), data) {
			t.Fatal("proof does not round-trip")
		}
	})
}

// FuzzPublicKey and FuzzPrivateKey: accepted keys marshal back to the input.
func FuzzPublicKey(f *testing.F) {
	sk, _ := GenerateKey(rand.Reader)
	pk, _ := sk.Public().MarshalBinary()
	f.Add(pk)
	f.Add(make([]byte, 32))
	f.Add(nonCanonical)
	f.Fuzz(func(t *testing.T, data []byte) {
		var pk PublicKey
		if err := pk.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrInvalidPublicKey) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		out, err := pk.MarshalBinary()
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("public key does not round-trip: %x, %v", out, err)
		}
	})
}

func FuzzPrivateKey(f *testing.F) {
	sk, _ := GenerateKey(rand.Reader)
	skb, _ := sk.MarshalBinary()
	f.Add(skb)
	f.Add(make([]byte, 32))
	f.Add(nonCanonical)
	f.Fuzz(func(t *testing.T, data []byte) {
		var sk PrivateKey
		if err := sk.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrInvalidPrivateKey) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		out, err := sk.MarshalBinary()
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("private key does not round-trip: %x, %v", out, err)
		}
	})
}

// FuzzFinalize feeds arbitrary evaluated elements and proofs to Finalize and
// VerifyProof for one honest request of each blinding. Neither may panic,
// they must agree, and anything accepted must yield the true PRF outputs.
func FuzzFinalize(f *testing.F) {
	s := newSession(f, 2)
	want := make([][OutputSize]byte, len(s.inputs))
	if err := s.ev.EvaluateBatch(want, s.inputs); err != nil {
		f.Fatal(err)
	}
	// A state is finalised once: every input gets a fresh state with the
	// same blinds, so the same blinded request.
	blinds := make([]byte, len(s.inputs)*uniformSize)
	if _, err := rand.Read(blinds); err != nil {
		f.Fatal(err)
	}
	// The same blinds give one request per blinding, each with its answer.
	blind := func(additive bool) (*BlindState, []byte, error) {
		if additive {
			return s.client.BlindAdditive(bytes.NewReader(blinds), s.inputs)
		}
		return s.client.Blind(bytes.NewReader(blinds), s.inputs)
	}
	old, err := s.ev.WithRule(ProofBinding)
	if err != nil {
		f.Fatal(err)
	}
	blinded := make(map[bool][]byte)
	for _, additive := range []bool{false, true} {
		_, req, err := blind(additive)
		if err != nil {
			f.Fatal(err)
		}
		evaluated, proof, err := s.ev.BlindEvaluate(rand.Reader, req)
		if err != nil {
			f.Fatal(err)
		}
		blinded[additive] = req
		f.Add(evaluated, proof[:], additive)
		f.Add(evaluated[:32], proof[:], additive)
		f.Add(with(evaluated, func(b []byte) { b[0] ^= 2 }), proof[:], additive)
		f.Add(evaluated, with(proof[:], func(b []byte) { b[5] ^= 1 }), additive)
		// One blinding's answer offered to the other's state.
		f.Add(evaluated, proof[:], !additive)
		// The right answer proved under the full-width binding rule.
		_, other, err := old.BlindEvaluate(rand.Reader, req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(evaluated, other[:], additive)
	}
	f.Add(make([]byte, 64), make([]byte, 64), true)
	f.Add([]byte{}, []byte{}, false)
	f.Fuzz(func(t *testing.T, evaluated, proof []byte, additive bool) {
		st, _, err := blind(additive)
		if err != nil {
			t.Fatal(err)
		}
		outputs, err := s.client.Finalize(st, evaluated, proof)
		verr := VerifyProof(s.sk.Public(), s.info, blinded[additive], evaluated, proof)
		if (err == nil) != (verr == nil) {
			t.Fatalf("Finalize error %v but VerifyProof error %v", err, verr)
		}
		if err != nil {
			if outputs != nil {
				t.Fatal("outputs returned with an error")
			}
			return
		}
		for i := range outputs {
			if outputs[i] != want[i] {
				t.Fatalf("accepted answer gives a wrong output %d", i)
			}
		}
	})
}

// FuzzBlindEvaluate: arbitrary requests are rejected or answered with a
// proof that verifies.
func FuzzBlindEvaluate(f *testing.F) {
	s := newSession(f, 2)
	f.Add(s.blinded)
	f.Add(s.blinded[:33])
	f.Add(make([]byte, 64))
	f.Add(append(clone(generatorBytes), nonCanonical...))
	f.Fuzz(func(t *testing.T, blinded []byte) {
		evaluated, proof, err := s.ev.BlindEvaluate(rand.Reader, blinded)
		if err != nil {
			if evaluated != nil {
				t.Fatal("evaluated returned with an error")
			}
			return
		}
		if len(evaluated) != len(blinded) {
			t.Fatalf("%d evaluated bytes for %d blinded", len(evaluated), len(blinded))
		}
		if err := VerifyProof(s.sk.Public(), s.info, blinded, evaluated, proof[:]); err != nil {
			t.Fatalf("own answer does not verify: %v", err)
		}
	})
}
