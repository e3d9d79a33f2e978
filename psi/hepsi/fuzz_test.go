package hepsi

import (
	"bytes"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// FuzzParams insists that every accepted encoding is the canonical
// encoding of what it decodes to.
func FuzzParams(f *testing.F) {
	for _, n := range []int{10_000, 1_000_000} {
		p, _ := ParamsFor(n, 1024, 16)
		enc, _ := p.MarshalBinary()
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Params
		if p.UnmarshalBinary(data) != nil {
			return
		}
		enc, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded parameters do not encode: %v", err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatal("accepted a non-canonical encoding")
		}
	})
}

// FuzzUnpack checks that accepted packed coefficients re-pack to the same
// bytes (one encoding per value) and stay below the modulus.
func FuzzUnpack(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, uint8(0))
	f.Add(bytes.Repeat([]byte{0xff}, 15), uint8(2))
	moduli := []uint64{presetQ[0], presetQ[1], presetP[0], presetT}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		q := moduli[int(which)%len(moduli)]
		n := len(data) * 8 / 64
		coeffs := make([]uint64, n)
		s := cryptobyte.String(data)
		if !unpack(&s, coeffs, q) {
			return
		}
		for _, c := range coeffs {
			if c >= q {
				t.Fatalf("accepted coefficient %d >= %d", c, q)
			}
		}
		var b cryptobyte.Builder
		pack(&b, coeffs, q)
		if consumed := data[:len(data)-len(s)]; !bytes.Equal(b.BytesOrPanic(), consumed) {
			t.Fatal("accepted a non-canonical packing")
		}
	})
}

// FuzzDecodeAnswer mutates a real answer: whatever decodes must re-encode
// to the same bytes.
func FuzzDecodeAnswer(f *testing.F) {
	p, _, _, ab := smallExchange(f)
	f.Add(ab)
	f.Add(ab[:40])
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeAnswer(p, data)
		if err != nil {
			return
		}
		again, err := a.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded answer does not encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatal("accepted a non-canonical answer")
		}
	})
}

// FuzzDecodeQuery mutates a real query: whatever decodes must re-encode,
// from its parsed parts, to the same bytes.
func FuzzDecodeQuery(f *testing.F) {
	p, st, qb, _ := smallExchange(f)
	f.Add(qb)
	f.Add(qb[:100])
	byKey, _, err := st.r.QueryByKeyDigest(nil, st.items)
	if err != nil {
		f.Fatal(err)
	}
	bb, _ := byKey.MarshalBinary()
	f.Add(bb)
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := DecodeQuery(p, data)
		if err != nil {
			return
		}
		rebuilt := &Query{s: q.s, seed: q.seed, key: q.key, byKey: q.byKey, keyDigest: q.keyDigest, c0: q.c0}
		if err := rebuilt.encode(); err != nil {
			t.Fatalf("decoded query does not encode: %v", err)
		}
		if !bytes.Equal(rebuilt.enc, data) {
			t.Fatal("accepted a non-canonical query")
		}
	})
}
