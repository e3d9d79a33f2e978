package hepsi

import (
	"fmt"
	"math"
	"math/bits"
	"testing"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// TestNoiseAtCapacity fills one bin of every preset tier to its capacity,
// so the evaluated polynomials have the largest degree the tier allows,
// and checks that the members decrypt with their labels. It logs how many
// bits of the smallest modulus the answer's noise leaves free.
func TestNoiseAtCapacity(t *testing.T) {
	for _, tier := range presetTiers {
		t.Run(fmt.Sprint(tier.capacity), func(t *testing.T) {
			if (testing.Short() || raceEnabled) && tier.capacity > 64 {
				t.Skip("large bins are slow to fill")
			}
			p, err := ParamsFor(1000, 16, 16)
			if err != nil {
				t.Fatal(err)
			}
			p.BinCapacity, p.PSLow = tier.capacity, tier.low
			s, err := p.scheme()
			if err != nil {
				t.Fatal(err)
			}
			items := itemsInBin(t, s, tier.capacity)
			db, r, listed := listedDB(t, p, items, randomItems(t, len(items), 16))
			// Items whose limbs collide with a bin-mate's move on to the
			// next bundle, so the first holds slightly fewer.
			if d := s.degree(db.rows[0][0]); d < tier.capacity-tier.capacity/16 {
				t.Fatalf("bin holds %d items, want about %d", d, tier.capacity)
			}
			batch := append(items[:8], randomItems(t, 8, MinItemSize)...)
			q, st, err := r.Query(nil, batch)
			if err != nil {
				t.Fatal(err)
			}
			a, err := db.Answer(nil, q)
			if err != nil {
				t.Fatal(err)
			}
			res, err := st.Results(a)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainstPlain(t, res, batch, listed)
			t.Logf("capacity %d: decrypted coefficients reach %.1f bits of %.1f", tier.capacity, noiseBits(s, r, a.Rows[0][0][1]), math.Log2(float64(p.Q[0])/2))
		})
	}
}

// noiseBits is log2 of the largest centred coefficient of t times ct's
// decryption before decoding (lattigo's BGV holds m·t^{-1} + e, so this is
// m + t·e), which must stay below q0/2 for decryption to be correct.
func noiseBits(s *scheme, r *Requester, ct *rlwe.Ciphertext) float64 {
	pt := rlwe.NewDecryptor(s.bgv, r.sk).DecryptNew(ct)
	ringQ := s.bgv.RingQ().AtLevel(0)
	if pt.IsNTT {
		ringQ.INTT(pt.Value, pt.Value)
	}
	q := s.p.Q[0]
	worst := uint64(0)
	for _, c := range pt.Value.Coeffs[0] {
		hi, lo := bits.Mul64(c, s.p.PlainModulus)
		_, c = bits.Div64(hi%q, lo, q)
		if c > q/2 {
			c = q - c
		}
		worst = max(worst, c)
	}
	return math.Log2(float64(worst))
}
