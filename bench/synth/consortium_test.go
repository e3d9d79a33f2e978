package synth

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// testConfig is a small consortium with uneven sizes and category mixes.
func testConfig() Config {
	return Config{
		Seed:    7,
		Entries: 40_000,
		Overlap: 0.2,
		Institutions: []Institution{
			{MSPID: "Bank1MSP", Weight: 3},
			{MSPID: "Bank2MSP", Weight: 2, Categories: map[Category]int{Black: 1, Grey: 1}},
			{MSPID: "Lender3MSP"},
			{MSPID: "Pay4MSP", Categories: map[Category]int{Yellow: 1}},
		},
	}
}

func generate(t testing.TB, cfg Config) *Consortium {
	t.Helper()
	c, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGenerate(t *testing.T) {
	cfg := testConfig()
	c := generate(t, cfg)

	wantSizes := []int{17_143, 11_429, 5_714, 5_714} // 40,000 in the ratio 3:2:1:1, largest remainders
	onLists := make(map[ident.ID]int)
	for i, l := range c.Lists {
		in := cfg.Institutions[i]
		if l.MSPID != in.MSPID || len(l.Entries) != wantSizes[i] {
			t.Errorf("list %d: %s with %d entries, want %s with %d", i, l.MSPID, len(l.Entries), in.MSPID, wantSizes[i])
		}
		refs := make(map[[8]byte]bool)
		inList := make(map[ident.ID]bool)
		for j, e := range l.Entries {
			if inList[e.ID] {
				t.Fatalf("%s: entry %d: identifier listed twice", l.MSPID, j)
			}
			inList[e.ID] = true
			onLists[e.ID]++
			if got, err := ident.Normalize(e.ID.Type, e.ID.Value); err != nil || got != e.ID {
				t.Fatalf("%s: entry %d: identifier not canonical: %v", l.MSPID, j, err)
			}
			checkLabel(t, e.Label, in)
			if refs[e.Label.Reference] {
				t.Fatalf("%s: entry %d: reference %q repeated", l.MSPID, j, e.Label.Reference)
			}
			refs[e.Label.Reference] = true
		}
	}

	// Overlap: about 20% of entries are on more than one list. Quotas are
	// rounded down per institution, so allow a little less.
	sharedEntries := 0
	for _, n := range onLists {
		if n > 1 {
			sharedEntries += n
		}
	}
	if frac := float64(sharedEntries) / float64(cfg.Entries); frac < 0.19 || frac > 0.2 {
		t.Errorf("%.3f of entries on several lists, want 0.2", frac)
	}
	if len(c.shared) == 0 {
		t.Fatal("no shared identifiers recorded")
	}
	for _, id := range c.shared {
		if onLists[id] < 2 {
			t.Fatalf("shared identifier on %d lists", onLists[id])
		}
	}

	t.Run("deterministic", func(t *testing.T) {
		if again := generate(t, cfg); !reflect.DeepEqual(again, c) {
			t.Error("same seed gave different lists")
		}
		cfg.Seed++
		if other := generate(t, cfg); reflect.DeepEqual(other.Lists[0].Entries[:10], c.Lists[0].Entries[:10]) {
			t.Error("different seeds gave the same lists")
		}
	})
}

// checkLabel checks a label against what the institution may list.
func checkLabel(t *testing.T, l catalog.Label, in Institution) {
	t.Helper()
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	cats := in.Categories
	if cats == nil {
		cats = defaultCategories
	}
	cat := Category(l.Category)
	if cats[cat] == 0 {
		t.Fatalf("%s lists category %v, not one of its own", in.MSPID, cat)
	}
	if !slices.ContainsFunc(Reasons(cat), func(r Reason) bool { return r.Code == l.Reason }) {
		t.Fatalf("reason %d not in the table of %v", l.Reason, cat)
	}
	if l.Listed < defaultFrom || l.Listed > defaultTo {
		t.Fatalf("listed %v outside the default window", l.Listed)
	}
}

func TestGenerateDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 1,000,000 entries")
	}
	c := generate(t, Config{})
	total := 0
	var msps []string
	for _, l := range c.Lists {
		total += len(l.Entries)
		msps = append(msps, l.MSPID)
	}
	if total != DefaultEntries || !slices.Equal(msps, []string{"Bank1MSP", "Bank2MSP", "Lender3MSP"}) {
		t.Errorf("zero Config: %d entries over %v", total, msps)
	}
}

func TestGenerateNoOverlap(t *testing.T) {
	for _, cfg := range []Config{
		{Entries: 5000, Overlap: -1},
		{Entries: 5000, Institutions: []Institution{{MSPID: "SoloMSP"}}},
	} {
		c := generate(t, cfg)
		seen := make(map[ident.ID]bool)
		for _, l := range c.Lists {
			for _, e := range l.Entries {
				if seen[e.ID] {
					t.Fatalf("%+v: identifier on two lists", cfg)
				}
				seen[e.ID] = true
			}
		}
		if len(c.shared) != 0 {
			t.Errorf("%+v: %d shared identifiers", cfg, len(c.shared))
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"too many entries":  {Entries: MaxEntries + 1},
		"negative entries":  {Entries: -1},
		"overlap above 1":   {Overlap: 1.5},
		"window reversed":   {From: defaultTo, To: defaultFrom},
		"unknown type":      {Types: map[ident.Type]int{"fax": 1}},
		"zero type weights": {Types: map[ident.Type]int{ident.Phone: 0}},
		"negative weight":   {Types: map[ident.Type]int{ident.Phone: -1}},
		"empty MSP id":      {Institutions: []Institution{{}}},
		"duplicate MSP id":  {Institutions: []Institution{{MSPID: "A"}, {MSPID: "A"}}},
		"unknown category":  {Institutions: []Institution{{MSPID: "A", Categories: map[Category]int{4: 1}}}},
		"no category":       {Institutions: []Institution{{MSPID: "A", Categories: map[Category]int{Black: 0}}}},
		"negative size":     {Institutions: []Institution{{MSPID: "A", Weight: -1}}},
		"too many lists":    {Institutions: make([]Institution, MaxInstitutions+1)},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Generate(cfg); !errors.Is(err, ErrConfig) {
				t.Errorf("Generate = %v, want ErrConfig", err)
			}
		})
	}
}

func TestReference(t *testing.T) {
	for _, c := range []struct {
		i    int
		want string
	}{{0, "C0000001"}, {34, "C000000Z"}, {35, "C0000010"}, {MaxEntries - 1, "C00BWO3K"}} {
		if got := reference(c.i); string(got[:]) != c.want {
			t.Errorf("reference(%d) = %q, want %q", c.i, got, c.want)
		}
	}
}

func TestReasonText(t *testing.T) {
	if got := ReasonText(101); got != "identity fraud" {
		t.Errorf("ReasonText(101) = %q", got)
	}
	if got := ReasonText(999); got != "" {
		t.Errorf("ReasonText(999) = %q, want empty", got)
	}
	if Black.String() != "black" || Grey.String() != "grey" || Yellow.String() != "yellow" || Category(9).String() != "category(9)" {
		t.Error("category names")
	}
}

func TestGenerateOptions(t *testing.T) {
	day := civil(2024, 2, 29)
	c := generate(t, Config{
		Entries: 3000,
		Types:   map[ident.Type]int{ident.Email: 1, ident.Device: 1, ident.Phone: 0},
		From:    day, To: day,
		Institutions: []Institution{{MSPID: "A", Categories: map[Category]int{Grey: 1}}, {MSPID: "B", Weight: 2}},
	})
	if n := []int{len(c.Lists[0].Entries), len(c.Lists[1].Entries)}; n[0] != 1000 || n[1] != 2000 {
		t.Errorf("list sizes %v, want 1000 and 2000", n)
	}
	types := make(map[ident.Type]int)
	for _, l := range c.Lists {
		for _, e := range l.Entries {
			types[e.ID.Type]++
			if e.Label.Listed != day {
				t.Fatalf("listed %v, want %v", e.Label.Listed, day)
			}
			if l.MSPID == "A" && Category(e.Label.Category) != Grey {
				t.Fatalf("A lists %v", Category(e.Label.Category))
			}
		}
	}
	if len(types) != 2 || types[ident.Email] == 0 || types[ident.Device] == 0 {
		t.Errorf("types %v, want e-mail and device only", types)
	}
}
