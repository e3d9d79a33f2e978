package oprf

import (
	"crypto/rand"
	"fmt"
	"testing"

	"filippo.io/edwards25519"
	r255 "github.com/bwesterb/go-ristretto"
	"github.com/gtank/ristretto255"
)

// composites returns the verifier's M and Z for an answer, as verifyBatch
// computes them.
func composites(t *testing.T, c *Client, blinded, evaluated []byte) (m, z *edwards25519.Point) {
	t.Helper()
	n := len(blinded) / ElementSize
	cs, ds := make([]edwards25519.Point, n), make([]edwards25519.Point, n)
	if err := decodeBatch(cs, evaluated, decodePoint); err != nil {
		t.Fatal(err)
	}
	if err := decodeBatch(ds, blinded, decodePoint); err != nil {
		t.Fatal(err)
	}
	seed := c.p.batchSeed(c.rule, &c.seed, &c.bEnc, evaluated, blinded)
	m, z = new(edwards25519.Point), new(edwards25519.Point)
	c.p.pointSums(c.rule, &seed, evaluated, blinded, []*edwards25519.Point{m, z}, cs, ds)
	return m, z
}

// flipBit returns the scalar whose encoding is x's with bit `bit` flipped
// (a low bit, so that the result stays canonical).
func flipBit(t *testing.T, x *ristretto255.Scalar, bit int) *ristretto255.Scalar {
	t.Helper()
	b := x.Bytes()
	b[bit/8] ^= 1 << (bit % 8)
	var y ristretto255.Scalar
	if _, err := y.SetCanonicalBytes(b); err != nil {
		t.Fatal(err)
	}
	return &y
}

// tableOf returns c's fixed-base table of B, building it.
func tableOf(c *Client) *r255.ScalarMultTable {
	c.PrecomputeAdditive()
	return c.table.Load()
}

// TestVerifyPathsAgree checks that the two ways params.verify computes
// t2 = s·G + c·B, from fixed-base tables of G and B (a Client that blinds
// additively) and by edwards25519's variable-base double multiplication
// (any other Client, an auditor), give the same encoding of t2 and the same
// verdict: both accept the honest answer, and both refuse the proof with a
// bit of c or of s flipped, with M or Z moved, and under another key's B,
// at batch sizes 1 (the short-scalar composites), 2, 16 and 1,000
// (Pippenger's composites).
func TestVerifyPathsAgree(t *testing.T) {
	other, err := GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var g edwards25519.Point
	g.Set(edwards25519.NewGeneratorPoint())
	for _, n := range []int{1, 2, 16, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := newSession(t, n)
			c := s.client
			otherClient, err := NewClient(other.Public(), s.info)
			if err != nil {
				t.Fatal(err)
			}
			m, z := composites(t, c, s.blinded, s.evaluated)
			pc, ps, err := parseProof(s.proof)
			if err != nil {
				t.Fatal(err)
			}
			var moved [2]edwards25519.Point
			moved[0].Add(m, &g)
			moved[1].Add(z, &g)
			cases := []struct {
				name   string
				key    *Client
				m, z   *edwards25519.Point
				pc, ps *ristretto255.Scalar
				want   bool
			}{
				{"honest", c, m, z, &pc, &ps, true},
				{"c bit 0", c, m, z, flipBit(t, &pc, 0), &ps, false},
				{"c bit 100", c, m, z, flipBit(t, &pc, 100), &ps, false},
				{"s bit 0", c, m, z, &pc, flipBit(t, &ps, 0), false},
				{"s bit 200", c, m, z, &pc, flipBit(t, &ps, 200), false},
				{"M moved", c, &moved[0], z, &pc, &ps, false},
				{"Z moved", c, m, &moved[1], &pc, &ps, false},
				{"other B", otherClient, m, z, &pc, &ps, false},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					var ce, se edwards25519.Scalar
					toEdwardsScalar(&ce, tc.pc)
					toEdwardsScalar(&se, tc.ps)
					var viaTable, viaPoint [ElementSize]byte
					keyTerm(&viaTable, &tc.key.b, tableOf(tc.key), &ce, &se)
					keyTerm(&viaPoint, &tc.key.b, nil, &ce, &se)
					if viaTable != viaPoint {
						t.Fatalf("t2 from the tables %x, from the points %x", viaTable, viaPoint)
					}
					table := tc.key.p.verify(&tc.key.b, &tc.key.bEnc, tableOf(tc.key), tc.m, tc.z, tc.pc, tc.ps)
					point := tc.key.p.verify(&tc.key.b, &tc.key.bEnc, nil, tc.m, tc.z, tc.pc, tc.ps)
					if table != tc.want || point != tc.want {
						t.Fatalf("verify with tables %v, with points %v, want %v", table, point, tc.want)
					}
				})
			}
		})
	}
}
