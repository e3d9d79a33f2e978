package dleq_test

import (
	"encoding/hex"
	"errors"
	mathrand "math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/psi/dleq"
	"github.com/riskmesh/riskmesh/psi/internal/ristretto"
)

type point [32]byte

var suite = dleq.NewSuite("riskmesh/test/dleq")

// batch returns n random bases, their images under k, the decoded forms
// and the encoded commitment k·G.
func batch(t testing.TB, rng *mathrand.ChaCha8, k *ristretto255.Scalar, n int) (bases, images []point, bd, id []edwards25519.Point, commitment [32]byte) {
	t.Helper()
	bd = make([]edwards25519.Point, n)
	id = make([]edwards25519.Point, n)
	bases = make([]point, n)
	images = make([]point, n)
	ke := edScalar(k)
	var u [64]byte
	for i := range n {
		_, _ = rng.Read(u[:])
		if err := ristretto.FromUniformBytes(&bd[i], &u); err != nil {
			t.Fatal(err)
		}
		id[i].ScalarMult(ke, &bd[i])
		bases[i] = encode(&bd[i])
		images[i] = encode(&id[i])
	}
	var g ristretto255.Element
	g.ScalarBaseMult(k)
	copy(commitment[:], g.Bytes())
	return bases, images, bd, id, commitment
}

// edScalar converts a ristretto255 scalar to the edwards25519 type.
func edScalar(k *ristretto255.Scalar) *edwards25519.Scalar {
	s, err := edwards25519.NewScalar().SetCanonicalBytes(k.Bytes())
	if err != nil {
		panic(err) // a ristretto255 scalar is canonical
	}
	return s
}

// encode returns the ristretto255 encoding of p.
func encode(p *edwards25519.Point) point {
	var out point
	ristretto.Encode(out[:], []edwards25519.Point{*p})
	return out
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
	badID := append([]edwards25519.Point(nil), id...)
	badID[137].ScalarMult(edScalar(wrong), &bd[137])
	badImages[137] = encode(&badID[137])
	// Two images swapped: each is a correct exponentiation of another base.
	swImages := append([]point(nil), images...)
	swID := append([]edwards25519.Point(nil), id...)
	swImages[3], swImages[4] = swImages[4], swImages[3]
	swID[3], swID[4] = swID[4], swID[3]
	tampered := proof
	tampered[40] ^= 1

	cases := []struct {
		name   string
		suite  *dleq.Suite
		com    *[32]byte
		images []point
		id     []edwards25519.Point
		proof  *dleq.Proof
		want   error
	}{
		{"wrong exponent on one item", suite, &com, badImages, badID, &proof, dleq.ErrVerification},
		{"swapped images", suite, &com, swImages, swID, &proof, dleq.ErrVerification},
		{"other commitment", suite, &wrongComEnc, images, id, &proof, dleq.ErrVerification},
		{"identity commitment", suite, &[32]byte{}, images, id, &proof, dleq.ErrVerification},
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

// TestProofGolden pins a proof made with fixed randomness: the challenge,
// weights and nonce derivation are part of the format auditors verify, so
// an optimisation of the prover must leave the bytes unchanged.
func TestProofGolden(t *testing.T) {
	rng := mathrand.NewChaCha8([32]byte{42})
	k := scalar(rng)
	bases, images, bd, _, com := batch(t, rng, k, 70)
	proof, err := dleq.Prove(suite, k, &com, bases, images, bd, rng)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(proof[:]); got != goldenProof {
		t.Fatalf("proof %s, want %s", got, goldenProof)
	}
}

const goldenProof = "e6f0bd99881321f8c78782cb120f78196e961fbeee90ac31d02c7c5677372605011ed765d23d046bbafdeb3f23a972ce730a6c9b2280f3c5fe2021d4b2ec9e02"
