package chaincode

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMedianBound checks the bound docs/quality.md states: whatever one
// requester reports, the median of k >= MinPolicyRequesters requesters'
// rates stays between the middle values of the other k-1 (for odd k the
// two middle ones, for even k the means of the neighbouring pairs).
func TestMedianBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		k := MinPolicyRequesters + rng.IntN(6)
		others := make([]uint32, k-1)
		for i := range others {
			others[i] = uint32(rng.IntN(BasisPoints + 1))
		}
		slices.Sort(others)
		lo, hi := medianBound(others)
		for _, x := range []uint32{0, BasisPoints, uint32(rng.IntN(BasisPoints + 1))} {
			all := append(slices.Clone(others), x)
			slices.Sort(all)
			if m := median(all); m < lo || m > hi {
				t.Fatalf("others %v, one requester %d: median %d outside [%d, %d]", others, x, m, lo, hi)
			}
		}
	}
}

// medianBound is the interval of docs/quality.md for the sorted rates of
// the other requesters.
func medianBound(others []uint32) (lo, hi uint32) {
	n := len(others) // k-1
	if n%2 == 0 {    // k odd: the two middle values
		return others[n/2-1], others[n/2]
	}
	m := n / 2 // k even: the middle value and its neighbours
	return uint32((uint64(others[m-1]) + uint64(others[m])) / 2), uint32((uint64(others[m]) + uint64(others[m+1])) / 2)
}

func TestRatio(t *testing.T) {
	for _, c := range []struct {
		num, den uint64
		want     uint32
		ok       bool
	}{
		{0, 0, 0, false},
		{1, 3, 3333, true},
		{8, 9, 8888, true},
		{5, 5, BasisPoints, true},
		{math.MaxUint64 - 1, math.MaxUint64, 9999, true},
	} {
		if got, ok := ratio(c.num, c.den); got != c.want || ok != c.ok {
			t.Errorf("ratio(%d, %d) = %d, %v; want %d, %v", c.num, c.den, got, ok, c.want, c.ok)
		}
	}
}

func TestPeriodPrice(t *testing.T) {
	p := &Period{
		PriceList: PriceList{
			Prices:     map[string]int64{"a": 7, "big": math.MaxInt64},
			ModePrices: map[Mode]map[string]int64{ModeLive: {"a": 11}},
		},
		Factors: map[string]PriceFactor{
			FactorKey("P", "a"):   {Multiplier: 5000},
			FactorKey("P", "big"): {Multiplier: 2 * BasisPoints},
			FactorKey("Q", "big"): {Multiplier: 5000},
		},
	}
	for _, c := range []struct {
		category string
		mode     Mode
		provider string
		want     int64
		ok       bool
	}{
		{"a", ModeCatalog, "P", 3, true},    // 7 x 0.5, rounded down
		{"a", ModeCatalog, "Q", 7, true},    // no factor: x1
		{"b", ModeCatalog, "P", 0, false},   // no price
		{"big", ModeCatalog, "P", 0, false}, // past int64
		{"big", ModeCatalog, "Q", math.MaxInt64 / 2, true},
		{"a", ModeLive, "P", 5, true},       // the live price, same factor: 11 x 0.5
		{"a", ModeLive, "Q", 11, true},      // the live price, not the catalog one
		{"big", ModeLive, "Q", 0, false},    // no live price: no fallback to catalog
		{"a", ModeReconcile, "Q", 0, false}, // a mode with no prices at all
		{"a", Mode("bulk"), "Q", 0, false},  // an unknown mode
		{"a", Mode(""), "Q", 0, false},      // the empty mode is not catalog here
	} {
		if got, ok := p.Price(c.category, c.mode, c.provider); got != c.want || ok != c.ok {
			t.Errorf("Price(%s, %s, %s) = %d, %v; want %d, %v", c.category, c.mode, c.provider, got, ok, c.want, c.ok)
		}
	}
}

// TestPeriodReadsRecordsMadeBeforeModes decodes a period record as stored
// before prices had modes: its prices are the catalog prices and no other
// mode has one.
func TestPeriodReadsRecordsMadeBeforeModes(t *testing.T) {
	var p Period
	if err := json.Unmarshal([]byte(`{"number":3,"state":"open","prices":{"black":2}}`), &p); err != nil {
		t.Fatal(err)
	}
	if got, ok := p.Price("black", ModeCatalog, "P"); !ok || got != 2 {
		t.Fatalf("catalog price %d, %v; want 2", got, ok)
	}
	for _, m := range []Mode{ModeLive, ModeReconcile} {
		if got, ok := p.Price("black", m, "P"); ok {
			t.Fatalf("%s price %d from a record without mode prices", m, got)
		}
	}
	again, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"number":3,"state":"open","prices":{"black":2}}`; string(again) != want {
		t.Fatalf("re-encoded %s, want %s", again, want)
	}
}

func TestQualityPolicyValidate(t *testing.T) {
	if err := DefaultQualityPolicy().Validate(); err != nil {
		t.Fatalf("default policy: %v", err)
	}
	tiers := []QualityTier{{MinConfirmation: 9000, Multiplier: 12000}, {MinConfirmation: 0, Multiplier: 8000}}
	for name, q := range map[string]QualityPolicy{
		"two requesters":     {MinRequesters: 2, Window: 1, Tiers: tiers},
		"no window":          {MinRequesters: 3, Tiers: tiers},
		"long window":        {MinRequesters: 3, Window: MaxWindow + 1, Tiers: tiers},
		"no tiers":           {MinRequesters: 3, Window: 1},
		"no floor tier":      {MinRequesters: 3, Window: 1, Tiers: tiers[:1]},
		"rising tiers":       {MinRequesters: 3, Window: 1, Tiers: []QualityTier{{MinConfirmation: 0, Multiplier: 1}, {MinConfirmation: 0, Multiplier: 1}}},
		"free":               {MinRequesters: 3, Window: 1, Tiers: []QualityTier{{MinConfirmation: 0, Multiplier: 0}}},
		"past the top price": {MinRequesters: 3, Window: 1, Tiers: []QualityTier{{MinConfirmation: 0, Multiplier: MaxMultiplier + 1}}},
		"past 100 %":         {MinRequesters: 3, Window: 1, Tiers: []QualityTier{{MinConfirmation: BasisPoints + 1, Multiplier: 1}, {Multiplier: 1}}},
	} {
		if err := q.Validate(); CodeOf(err) != CodeInvalidArgument {
			t.Errorf("%s: %v, want invalid_argument", name, err)
		}
	}
}
