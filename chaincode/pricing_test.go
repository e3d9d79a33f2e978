package chaincode

import (
	"encoding/json"
	"fmt"
	"maps"
	"testing"

	"github.com/riskmesh/riskmesh/psi/transcript"
)

// setPrice runs SetPrice as the regulator and fails the test if refused.
func setPrice(t *testing.T, c *Contract, st *memState, category string, mode Mode, price int64) {
	t.Helper()
	arg, err := json.Marshal(SetPriceArgs{Category: category, Mode: mode, Price: price})
	if err != nil {
		t.Fatal(err)
	}
	caller := st.caller
	st.caller = "Reg"
	defer func() { st.caller = caller }()
	if _, err := c.Invoke(st, FnSetPrice, arg); err != nil {
		t.Fatalf("SetPrice %s/%s: %v", category, mode, err)
	}
}

// query runs fn with an empty argument on st and decodes its answer.
func query[T any](t *testing.T, c *Contract, st *memState, fn string) T {
	t.Helper()
	res, err := c.Invoke(st, fn, []byte(`{}`))
	if err != nil {
		t.Fatal(fn, err)
	}
	var v T
	if err := json.Unmarshal(res, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSetPricePerMode sets one category's price in every mode and checks
// that the catalog price keeps its old key, that GetPrices shows each mode
// and that Rollover captures all of them.
func TestSetPricePerMode(t *testing.T) {
	c, _ := New("Reg")
	st := seeded(t, c) // black: catalog 2, period 1 open
	setPrice(t, c, st, "black", "", 3)
	setPrice(t, c, st, "black", ModeLive, 5)
	setPrice(t, c, st, "grey", ModeReconcile, 7)

	if got := string(st.kv["price/black"]); got != "3" {
		t.Fatalf("price/black = %q, want the catalog price 3", got)
	}
	want := PriceList{
		Prices:     map[string]int64{"black": 3},
		ModePrices: map[Mode]map[string]int64{ModeLive: {"black": 5}, ModeReconcile: {"grey": 7}},
	}
	if got := query[PriceList](t, c, st, FnGetPrices); !got.Equal(&want) {
		t.Fatalf("GetPrices = %+v, want %+v", got, want)
	}
	p := query[Period](t, c, st, FnRollover)
	if p.Number != 2 || !p.Equal(&want) {
		t.Fatalf("period %d captured %+v, want %+v", p.Number, p.PriceList, want)
	}
	old, err := loadPeriod(st, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := old.Price("black", ModeLive, "B"); ok || old.Prices["black"] != 2 {
		t.Fatalf("period 1 changed its prices: %+v", old.PriceList)
	}
}

func TestSetPriceRefusals(t *testing.T) {
	c, _ := New("Reg")
	st := seeded(t, c)
	for _, tc := range []struct {
		name, caller, arg string
		code              Code
	}{
		{"UnknownMode", "Reg", `{"category":"black","mode":"bulk","price":1}`, CodeInvalidArgument},
		{"ModeCase", "Reg", `{"category":"black","mode":"Live","price":1}`, CodeInvalidArgument},
		{"ModeWithSeparator", "Reg", `{"category":"black","mode":"live/x","price":1}`, CodeInvalidArgument},
		{"CategoryWithMode", "Reg", `{"category":"black/live","price":1}`, CodeInvalidArgument},
		{"NegativeLivePrice", "Reg", `{"category":"black","mode":"live","price":-1}`, CodeInvalidArgument},
		{"ProviderSetsLivePrice", "B", `{"category":"black","mode":"live","price":1}`, CodeForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := maps.Clone(st.kv)
			s := &memState{kv: st.kv, caller: tc.caller}
			if _, err := c.Invoke(s, FnSetPrice, []byte(tc.arg)); CodeOf(err) != tc.code {
				t.Fatalf("error %v, want %s", err, tc.code)
			}
			if len(st.kv) != len(before) || string(st.kv["price/black"]) != string(before["price/black"]) {
				t.Fatal("a refused SetPrice wrote state")
			}
		})
	}
}

// TestSetPriceBoundsEachMode fills the catalog mode up to MaxCategories:
// a live price still sets, a new catalog category is refused, an existing
// one still changes, and the live mode has its own bound.
func TestSetPriceBoundsEachMode(t *testing.T) {
	c, _ := New("Reg")
	st := &memState{kv: map[string][]byte{}, caller: "Reg"}
	for i := range MaxCategories {
		setPrice(t, c, st, fmt.Sprintf("c%d", i), ModeCatalog, 1)
	}
	over := []byte(`{"category":"extra","price":1}`)
	if _, err := c.Invoke(st, FnSetPrice, over); CodeOf(err) != CodeInvalidArgument {
		t.Fatalf("catalog category %d: %v, want invalid_argument", MaxCategories+1, err)
	}
	setPrice(t, c, st, "c0", ModeCatalog, 2)
	for i := range MaxCategories {
		setPrice(t, c, st, fmt.Sprintf("c%d", i), ModeLive, 3)
	}
	if _, err := c.Invoke(st, FnSetPrice, []byte(`{"category":"extra","mode":"live","price":1}`)); CodeOf(err) != CodeInvalidArgument {
		t.Fatalf("live category %d: %v, want invalid_argument", MaxCategories+1, err)
	}
	setPrice(t, c, st, "extra", ModeReconcile, 4)
	l := query[PriceList](t, c, st, FnGetPrices)
	if len(l.Prices) != MaxCategories || len(l.ModePrices[ModeLive]) != MaxCategories ||
		len(l.ModePrices[ModeReconcile]) != 1 || l.Prices["c0"] != 2 {
		t.Fatalf("prices: %d catalog, %d live, %d reconcile, c0 = %d",
			len(l.Prices), len(l.ModePrices[ModeLive]), len(l.ModePrices[ModeReconcile]), l.Prices["c0"])
	}
}

func TestPriceKey(t *testing.T) {
	for _, m := range Modes {
		k := priceKey("black", m)
		category, mode, ok := parsePriceKey(k)
		if !ok || category != "black" || mode != m {
			t.Errorf("parsePriceKey(%q) = %q, %q, %v", k, category, mode, ok)
		}
	}
	if k := priceKey("black", ModeCatalog); k != "price/black" {
		t.Errorf("catalog key %q, want the key prices had before modes", k)
	}
	for _, k := range []string{"price/", "price/black/catalog", "price/black/bulk", "price/black/live/x", "price/bl ack", "limit/black"} {
		if _, _, ok := parsePriceKey(k); ok {
			t.Errorf("parsePriceKey(%q) accepted", k)
		}
	}
}

func TestModeOf(t *testing.T) {
	for p, want := range map[transcript.Protocol]Mode{
		transcript.ProtocolCatalogOPRF:         ModeCatalog,
		transcript.ProtocolLiveHE:              ModeLive,
		transcript.ProtocolECDHRequesterLearns: ModeReconcile,
		transcript.ProtocolECDHBothLearn:       ModeReconcile,
	} {
		if got, ok := ModeOf(p); !ok || got != want {
			t.Errorf("ModeOf(%v) = %q, %v; want %q", p, got, ok, want)
		}
	}
	for _, p := range []transcript.Protocol{0, transcript.ProtocolLiveHE + 1} {
		if got, ok := ModeOf(p); ok {
			t.Errorf("ModeOf(%v) = %q", p, got)
		}
	}
}

// TestAdversaryRecordRefusesLiveAndReconcileEntries plays a provider that
// records, with both parties' valid signatures, live-mode and ECDH-PSI
// entries billed at their mode's price in a period that prices every mode:
// the contract does not check those transcripts yet, so it refuses them,
// while a catalog entry of the same period records at the catalog price.
func TestAdversaryRecordRefusesLiveAndReconcileEntries(t *testing.T) {
	c, _ := New("Reg")
	st := seeded(t, c)
	sign := signers(t, c, st, "A", "B")
	setPrice(t, c, st, "black", ModeLive, 4)
	setPrice(t, c, st, "black", ModeReconcile, 6)
	st.caller = "Reg"
	if _, err := c.Invoke(st, FnRollover, []byte(`{}`)); err != nil { // period 2 prices every mode
		t.Fatal(err)
	}
	st.caller = "B"
	entry := func(p transcript.Protocol, seq uint64, price int64) Entry {
		h := &transcript.Header{
			Protocol: p, Suite: transcript.SuiteRistretto255SHA512,
			Category: "black", Period: 2, Requester: "A", Responder: "B", Sequence: seq, Count: 5,
		}
		return signedHeader(t, sign, h, 0, 5*price)
	}
	out := record(t, c, st, []Entry{
		entry(transcript.ProtocolLiveHE, 1, 4),
		entry(transcript.ProtocolECDHRequesterLearns, 2, 6),
		entry(transcript.ProtocolECDHBothLearn, 3, 6),
		entry(transcript.ProtocolCatalogOPRF, 4, 2),
	})
	for i, o := range out[:3] {
		if o.Status != OutcomeRejected || o.Code != CodeInvalidArgument {
			t.Errorf("entry %d: %+v, want rejected as invalid_argument", i, o)
		}
	}
	if out[3].Status != OutcomeRecorded {
		t.Fatalf("catalog entry at the catalog price: %+v", out[3])
	}
}
