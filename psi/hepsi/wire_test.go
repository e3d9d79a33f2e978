package hepsi

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"golang.org/x/crypto/cryptobyte"
)

// smallExchange returns the parameters, a database of a few items, a
// requester's query state and the encoded query and answer.
func smallExchange(t testing.TB) (Params, *QueryState, []byte, []byte) {
	t.Helper()
	p := testParams(t, 16)
	db, err := NewDatabase(p)
	if err != nil {
		t.Fatal(err)
	}
	items := randomItems(t, 50, MinItemSize)
	if err := db.Add(items, randomItems(t, 50, 16)); err != nil {
		t.Fatal(err)
	}
	r, err := NewRequester(p)
	if err != nil {
		t.Fatal(err)
	}
	q, st, err := r.Query(nil, items[:3])
	if err != nil {
		t.Fatal(err)
	}
	qb, _ := q.MarshalBinary()
	a, err := db.Answer(nil, q)
	if err != nil {
		t.Fatal(err)
	}
	ab, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return p, st, qb, ab
}

func TestParamsEncoding(t *testing.T) {
	p, err := ParamsFor(1_000_000, 1024, 16)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Params
	if err := back.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	again, _ := back.MarshalBinary()
	if !bytes.Equal(enc, again) {
		t.Fatal("parameters do not round-trip")
	}
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"truncated", enc[:len(enc)-1], ErrMalformed},
		{"trailing byte", append(bytes.Clone(enc), 0), ErrTrailingData},
		{"unknown version", append([]byte{9}, enc[1:]...), ErrVersion},
	}
	for _, c := range cases {
		if err := back.UnmarshalBinary(c.data); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestAdversaryProviderWeakParams plays a provider that announces a ring
// too small for its modulus (or otherwise unusable): the requester's
// decoder and NewRequester refuse it before any key is made.
func TestAdversaryProviderWeakParams(t *testing.T) {
	good := testParams(t, 16)
	mutate := []struct {
		name string
		f    func(*Params)
	}{
		{"modulus beyond the 128-bit bound", func(p *Params) { p.Q = append(append([]uint64{}, p.Q...), 1125899906990081) }},
		{"ring too small", func(p *Params) { p.LogN = 12 }},
		{"plain modulus without batching", func(p *Params) { p.PlainModulus = 1032191 }},
		{"composite prime", func(p *Params) { p.Q = []uint64{p.Q[0], p.Q[1], p.Q[2] + 2} }},
		{"overfull cuckoo table", func(p *Params) { p.MaxBatch = 1025 }},
		{"huge bins", func(p *Params) { p.BinCapacity = maxCapacity + 1 }},
		{"too many bundles", func(p *Params) { p.MaxBundles = maxBundles + 1 }},
		{"oversized labels", func(p *Params) { p.LabelSize = MaxLabelSize + 1 }},
	}
	for _, m := range mutate {
		p := good
		m.f(&p)
		if _, err := NewRequester(p); !errors.Is(err, ErrParams) {
			t.Errorf("%s: NewRequester: %v, want ErrParams", m.name, err)
		}
		if _, err := NewDatabase(p); !errors.Is(err, ErrParams) {
			t.Errorf("%s: NewDatabase: %v, want ErrParams", m.name, err)
		}
	}
}

// TestAdversaryReplayedAnswer plays a provider that answers a query with
// the answer to an earlier one: the requester refuses it.
func TestAdversaryReplayedAnswer(t *testing.T) {
	p, _, _, ab := smallExchange(t)
	_, st2, _, _ := smallExchange(t)
	a, err := DecodeAnswer(p, ab)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st2.Results(a); !errors.Is(err, ErrMismatch) {
		t.Fatalf("replayed answer: %v, want ErrMismatch", err)
	}
}

// TestAdversaryMalformedMessages plays a peer sending broken or oversized
// queries and answers: each is refused with an error, before allocation
// where the size is wrong.
func TestAdversaryMalformedMessages(t *testing.T) {
	p, _, qb, ab := smallExchange(t)
	other := testParams(t, 32)
	withBundles := func(n uint16) []byte {
		out := bytes.Clone(ab[:33])
		return append(out, byte(n>>8), byte(n))
	}
	// A packed coefficient with every bit set is at least its modulus.
	highCoeff := bytes.Clone(ab)
	for i := 33 + 2 + 4; i < 33+2+4+8; i++ {
		highCoeff[i] = 0xff
	}
	cases := []struct {
		name   string
		decode func() error
		want   error
	}{
		{"query truncated", func() error { _, err := DecodeQuery(p, qb[:len(qb)-1]); return err }, ErrMalformed},
		{"query with trailing byte", func() error { _, err := DecodeQuery(p, append(bytes.Clone(qb), 0)); return err }, ErrMalformed},
		{"query under other parameters", func() error { _, err := DecodeQuery(other, qb); return err }, ErrMismatch},
		{"query version", func() error { _, err := DecodeQuery(p, append([]byte{3}, qb[1:]...)); return err }, ErrVersion},
		{"query carrying its key as version 2", func() error { _, err := DecodeQuery(p, append([]byte{2}, qb[1:]...)); return err }, ErrMalformed},
		{"answer truncated", func() error { _, err := DecodeAnswer(p, ab[:len(ab)-1]); return err }, ErrMalformed},
		{"answer with trailing byte", func() error { _, err := DecodeAnswer(p, append(bytes.Clone(ab), 0)); return err }, ErrTrailingData},
		{"answer with too many bundles", func() error { _, err := DecodeAnswer(p, withBundles(uint16(p.MaxBundles+1))); return err }, ErrLimit},
		{"answer claiming bundles it lacks", func() error { _, err := DecodeAnswer(p, withBundles(3)); return err }, ErrMalformed},
		{"answer coefficient out of range", func() error { _, err := DecodeAnswer(p, highCoeff); return err }, ErrMalformed},
	}
	for _, c := range cases {
		if err := c.decode(); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestPackRoundTrip(t *testing.T) {
	for _, q := range []uint64{presetQ[0], presetQ[1], presetP[0], presetT} {
		coeffs := make([]uint64, 37)
		for i := range coeffs {
			coeffs[i] = (uint64(i)*0x9e3779b97f4a7c15 + 1) % q
		}
		coeffs[0], coeffs[1] = 0, q-1
		var b cryptobyte.Builder
		pack(&b, coeffs, q)
		enc := b.BytesOrPanic()
		if len(enc) != packedSize(len(coeffs), q) {
			t.Fatalf("q=%d: %d bytes, want %d", q, len(enc), packedSize(len(coeffs), q))
		}
		back := make([]uint64, len(coeffs))
		s := cryptobyte.String(enc)
		if !unpack(&s, back, q) || !s.Empty() {
			t.Fatalf("q=%d: unpack failed", q)
		}
		for i := range coeffs {
			if back[i] != coeffs[i] {
				t.Fatalf("q=%d: coefficient %d is %d, want %d", q, i, back[i], coeffs[i])
			}
		}
	}
}

// TestAdversaryCorruptQuery plays a requester whose query carries
// arbitrary bytes where the ciphertexts and the relinearization key belong:
// the provider either refuses it or answers (garbage, to the requester's
// own loss), and never panics.
func TestAdversaryCorruptQuery(t *testing.T) {
	p, _, qb, _ := smallExchange(t)
	db, err := NewDatabase(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Add(randomItems(t, 20, MinItemSize), randomItems(t, 20, 16)); err != nil {
		t.Fatal(err)
	}
	rlkStart := len(qb) - rlwe.NewRelinearizationKey(db.s.bgv).BinarySize()
	for _, at := range []int{80, len(qb) / 3, rlkStart - 1, rlkStart + 3, rlkStart + 100, len(qb) - 1} {
		bad := bytes.Clone(qb)
		bad[at] ^= 0x5a
		q, err := DecodeQuery(p, bad)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("byte %d: %v, want ErrMalformed", at, err)
			}
			continue
		}
		if _, err := db.Answer(nil, q); err != nil {
			t.Errorf("byte %d: decoded query not answered: %v", at, err)
		}
	}
}
