package oprf

import (
	"bytes"
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
	r255 "github.com/bwesterb/go-ristretto"
	gre "github.com/bwesterb/go-ristretto/edwards25519"
	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/psi/internal/ristretto"
)

// conversionCase builds, from 64 uniform bytes and a 64-byte scalar seed,
// the ristretto255 element a = s·H(u) and a go-ristretto representative of
// it with projective coordinates (a scalar multiple, not a decoded point)
// and, by torsion, one of the four representatives of the element; torsion
// 4 makes the identity element instead.
func conversionCase(t testing.TB, u, scalar []byte, torsion uint8) (*ristretto255.Element, *r255.Point) {
	t.Helper()
	a, err := ristretto255.NewIdentityElement().SetUniformBytes(u)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ristretto255.NewScalar().SetUniformBytes(scalar)
	if err != nil {
		t.Fatal(err)
	}
	a.ScalarMult(s, a)
	var enc [ElementSize]byte
	copy(enc[:], a.Bytes())
	var p r255.Point
	if !p.SetBytes(&enc) {
		t.Fatalf("go-ristretto rejects %x", enc)
	}
	var twice r255.Scalar
	var two [32]byte
	two[0] = 2
	twice.SetBytes(&two)
	// 2·(p/2) in go-ristretto's own arithmetic: arbitrary Z and T.
	var half r255.Scalar
	half.Inverse(&twice)
	p.ScalarMult(&p, &half)
	p.ScalarMult(&p, &twice)
	var tp gre.ExtendedPoint
	switch torsion % 5 {
	case 1:
		tp.SetTorsion1()
	case 2:
		tp.SetTorsion2()
	case 3:
		tp.SetTorsion3()
	case 4:
		// The identity element, as a torsion point.
		tp.SetTorsion1()
		(*gre.ExtendedPoint)(&p).Set(&tp)
		return ristretto255.NewIdentityElement(), &p
	default:
		return a, &p
	}
	(*gre.ExtendedPoint)(&p).Add((*gre.ExtendedPoint)(&p), &tp)
	return a, &p
}

// checkConversion checks that the point survives the trips between the two
// libraries: FromGoRistretto then encodePoint gives ristretto255's encoding of the
// element, and so does the decoded point sent through encodePoint.
func checkConversion(t testing.TB, a *ristretto255.Element, p *r255.Point) {
	t.Helper()
	want := a.Bytes()
	var q edwards25519.Point
	if err := ristretto.FromGoRistretto(&q, p); err != nil {
		t.Fatalf("FromGoRistretto: %v", err)
	}
	got := make([]byte, ElementSize)
	encodePoint(got, &q)
	if !bytes.Equal(got, want) {
		t.Fatalf("FromGoRistretto then encodePoint: %x, want %x", got, want)
	}
	if a.Equal(identity) == 1 {
		return
	}
	var d edwards25519.Point
	if err := decodePoint(&d, want); err != nil {
		t.Fatal(err)
	}
	// A multiple with other projective coordinates than the decoded point's.
	var three edwards25519.Point
	three.Add(&d, &d).Add(&three, &d)
	var a3 ristretto255.Element
	a3.Add(a, a).Add(&a3, a)
	encodePoint(got, &three)
	if !bytes.Equal(got, a3.Bytes()) {
		t.Fatalf("encodePoint(3·decoded): %x, want %x", got, a3.Bytes())
	}
}

// TestConversionsAgree moves random points, representatives with each
// torsion component, and the identity between go-ristretto and
// edwards25519 and checks every encoding against ristretto255's.
func TestConversionsAgree(t *testing.T) {
	rng := mrand.NewChaCha8([32]byte{11})
	for i := range 500 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			u, s := make([]byte, 64), make([]byte, 64)
			_, _ = rng.Read(u)
			_, _ = rng.Read(s)
			a, p := conversionCase(t, u, s, uint8(i))
			checkConversion(t, a, p)
		})
	}
}

func FuzzConversions(f *testing.F) {
	f.Add(make([]byte, 64), bytes.Repeat([]byte{1}, 64), uint8(0))
	f.Add(bytes.Repeat([]byte{0xff}, 64), bytes.Repeat([]byte{7}, 64), uint8(3))
	f.Add(bytes.Repeat([]byte{0x5a}, 64), make([]byte, 64), uint8(4))
	f.Fuzz(func(t *testing.T, u, s []byte, torsion uint8) {
		if len(u) != 64 || len(s) != 64 {
			return
		}
		a, p := conversionCase(t, u, s, torsion)
		checkConversion(t, a, p)
	})
}
