package dleq_test

import (
	"errors"
	mathrand "math/rand/v2"
	"testing"

	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/psi/dleq"
)

type point [32]byte

var suite = dleq.NewSuite("riskmesh/test/dleq")

// batch returns n random bases, their images under k, the decoded forms
// and the encoded commitment k·G.
func batch(t testing.TB, rng *mathrand.ChaCha8, k *ristretto255.Scalar, n int) (bases, images []point, bd, id []ristretto255.Element, commitment [32]byte) {
	t.Helper()
	bd = make([]ristretto255.Element, n)
	id = make([]ristretto255.Element, n)
	bases = make([]point, n)
	images = make([]point, n)
	var u [64]byte
	for i := range n {
		_, _ = rng.Read(u[:])
		if _, err := bd[i].SetUniformBytes(u[:]); err != nil {
			t.Fatal(err)
		}
		id[i].ScalarMult(k, &bd[i])
		copy(bases[i][:], bd[i].Bytes())
		copy(images[i][:], id[i].Bytes())
	}
	var g ristretto255.Element
	g.ScalarBaseMult(k)
	copy(commitment[:], g.Bytes())
	return bases, images, bd, id, commitment
}

func scalar(rng *mathrand.ChaCha8) *ristretto255.Scalar {
	var u [64]byte
	_, _ = rng.Read(u[:])
	s, _ := ristretto255.NewScalar().SetUniformBytes(u[:])
	return s
}

func TestProveVerify(t *testing.T) {
	for _, n := range []int{1, 2, 255, 256, 1000} {
		rng := mathrand.NewChaCha8([32]byte{byte(n), byte(n >> 8)})
		k := scalar(rng)
		bases, images, bd, id, com := batch(t, rng, k, n)
		proof, err := dleq.Prove(suite, k, &com, bases, images, bd, rng)
		if err != nil {
			t.Fatalf("n=%d: Prove: %v", n, err)
		}
		if err := dleq.Verify(suite, &com, bases, images, bd, id, &proof); err != nil {
			t.Fatalf("n=%d: Verify of an honest proof: %v", n, err)
		}
	}
}

// TestRejects changes one thing at a time and expects the proof to fail.
func TestRejects(t *testing.T) {
	rng := mathrand.NewChaCha8([32]byte{7})
	k := scalar(rng)
	const n = 300
	bases, images, bd, id, com := batch(t, rng, k, n)
	proof, err := dleq.Prove(suite, k, &com, bases, images, bd, rng)
	if err != nil {
		t.Fatal(err)
	}
	other := dleq.NewSuite("riskmesh/test/other")
	wrong := scalar(rng)
	var wrongCom ristretto255.Element
	wrongCom.ScalarBaseMult(wrong)
	var wrongComEnc [32]byte
	copy(wrongComEnc[:], wrongCom.Bytes())

	// One image raised to another exponent: a wrong exponentiation.
	badImages := append([]point(nil), images...)
	badID := append([]ristretto255.Element(nil), id...)
	badID[137].ScalarMult(wrong, &bd[137])
	copy(badImages[137][:], badID[137].Bytes())
	// Two images swapped: each is a correct exponentiation of another base.
	swImages := append([]point(nil), images...)
	swID := append([]ristretto255.Element(nil), id...)
	swImages[3], swImages[4] = swImages[4], swImages[3]
	swID[3], swID[4] = swID[4], swID[3]
	tampered := proof
	tampered[40] ^= 1

	cases := []struct {
		name   string
		suite  *dleq.Suite
		com    *[32]byte
		images []point
		id     []ristretto255.Element
		proof  *dleq.Proof
		want   error
	}{
		{"wrong exponent on one item", suite, &com, badImages, badID, &proof, dleq.ErrVerification},
		{"swapped images", suite, &com, swImages, swID, &proof, dleq.ErrVerification},
		{"other commitment", suite, &wrongComEnc, images, id, &proof, dleq.ErrVerification},
		{"other suite", other, &com, images, id, &proof, dleq.ErrVerification},
		{"tampered response", suite, &com, images, id, &tampered, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := dleq.Verify(tc.suite, tc.com, bases, tc.images, bd, tc.id, tc.proof)
			if err == nil {
				t.Fatal("Verify accepted")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("wrong exponent proved honestly under the wrong key", func(t *testing.T) {
		p, err := dleq.Prove(suite, wrong, &com, bases, badImages, bd, rng)
		if err != nil {
			t.Fatal(err)
		}
		if err := dleq.Verify(suite, &com, bases, badImages, bd, badID, &p); !errors.Is(err, dleq.ErrVerification) {
			t.Fatalf("err = %v, want ErrVerification", err)
		}
	})
	t.Run("mismatched lengths", func(t *testing.T) {
		err := dleq.Verify(suite, &com, bases, images[:n-1], bd, id[:n-1], &proof)
		if !errors.Is(err, dleq.ErrBatch) {
			t.Fatalf("err = %v, want ErrBatch", err)
		}
	})
	t.Run("non-canonical proof", func(t *testing.T) {
		var p dleq.Proof
		for i := range p {
			p[i] = 0xff
		}
		if err := dleq.Verify(suite, &com, bases, images, bd, id, &p); !errors.Is(err, dleq.ErrProofEncoding) {
			t.Fatalf("err = %v, want ErrProofEncoding", err)
		}
	})
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestProveRandomnessFailure(t *testing.T) {
	rng := mathrand.NewChaCha8([32]byte{9})
	k := scalar(rng)
	bases, images, bd, _, com := batch(t, rng, k, 3)
	if _, err := dleq.Prove(suite, k, &com, bases, images, bd, failingReader{}); !errors.Is(err, dleq.ErrRandomness) {
		t.Fatalf("err = %v, want ErrRandomness", err)
	}
}
