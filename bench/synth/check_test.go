package synth

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// node answers a query with the final result a node's business API sends,
// from an independent index of the lists and with every provider answering
// except those in down.
func node(t *testing.T, c *Consortium, req *riskmeshv1.QueryRequest, down map[string]bool) *riskmeshv1.QueryResult {
	t.Helper()
	reasons := map[error]riskmeshv1.InvalidReason{
		ident.ErrEmpty: riskmeshv1.InvalidReason_INVALID_REASON_EMPTY, ident.ErrLength: riskmeshv1.InvalidReason_INVALID_REASON_LENGTH,
		ident.ErrFormat: riskmeshv1.InvalidReason_INVALID_REASON_FORMAT, ident.ErrChecksum: riskmeshv1.InvalidReason_INVALID_REASON_CHECKSUM,
		ident.ErrDate: riskmeshv1.InvalidReason_INVALID_REASON_DATE,
	}
	types := map[riskmeshv1.IdentifierType]ident.Type{
		riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE: ident.Phone, riskmeshv1.IdentifierType_IDENTIFIER_TYPE_IDCARD: ident.IDCard,
		riskmeshv1.IdentifierType_IDENTIFIER_TYPE_CARD: ident.Card, riskmeshv1.IdentifierType_IDENTIFIER_TYPE_EMAIL: ident.Email,
		riskmeshv1.IdentifierType_IDENTIFIER_TYPE_DEVICE: ident.Device,
	}
	idx := indexOf(c)
	res := &riskmeshv1.QueryResult{}
	for _, l := range c.Lists {
		st := riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED
		if down[l.MSPID] {
			st = riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE
		}
		res.Providers = append(res.Providers, &riskmeshv1.ProviderResult{Provider: l.MSPID, Status: st})
	}
	for i, in := range req.GetIdentifiers() {
		item := &riskmeshv1.ItemResult{Index: uint32(i)}
		res.Items = append(res.Items, item)
		typ, ok := types[in.GetType()]
		if !ok {
			t.Fatalf("identifier %d: type %v", i, in.GetType())
		}
		id, err := ident.Normalize(typ, in.GetValue())
		if err != nil {
			for sentinel, r := range reasons {
				if errors.Is(err, sentinel) {
					item.InvalidReason = r
				}
			}
			continue
		}
		for _, h := range sortedHits(idx[id], req.GetCategory()) {
			if down[h.Provider] {
				continue
			}
			lab := &riskmeshv1.Label{CategoryCode: uint32(h.Label.Category), ReasonCode: uint32(h.Label.Reason),
				ListedDate: h.Label.Listed.String(), ProviderReference: append([]byte(nil), h.Label.Reference[:]...)}
			item.Hits = append(item.Hits, &riskmeshv1.Hit{Provider: h.Provider, Label: lab})
		}
	}
	return res
}

// sortedHits returns the listings in the named category, sorted by provider.
func sortedHits(all []Hit, category string) []Hit {
	var out []Hit
	for _, p := range []string{"Bank1MSP", "Bank2MSP", "Lender3MSP", "Pay4MSP"} { // testConfig's, in order
		for _, h := range all {
			if h.Provider == p && Category(h.Label.Category).String() == category {
				out = append(out, h)
			}
		}
	}
	return out
}

func TestCheck(t *testing.T) {
	c := generate(t, testConfig())
	b, err := c.Batch(BatchConfig{Seed: 2, Category: Grey, Size: 500, Hits: 100, MultiHits: 20, OtherCategory: 30, Invalid: 14, Duplicates: 10})
	if err != nil {
		t.Fatal(err)
	}
	req := b.Request()
	if req.GetCategory() != "grey" || len(req.GetIdentifiers()) != len(b.Items) {
		t.Fatalf("request for %q with %d identifiers", req.GetCategory(), len(req.GetIdentifiers()))
	}
	for i, in := range req.GetIdentifiers() {
		if in.GetValue() != b.Items[i].Raw || in.GetType() == riskmeshv1.IdentifierType_IDENTIFIER_TYPE_UNSPECIFIED {
			t.Fatalf("identifier %d: %v", i, in.GetType())
		}
	}

	if err := b.Check(node(t, c, req, nil)); err != nil {
		t.Fatalf("correct result: %v", err)
	}
	if err := b.Check(node(t, c, req, map[string]bool{"Bank2MSP": true})); err != nil {
		t.Fatalf("correct result with a provider down: %v", err)
	}

	// firstHit finds the first item with a hit from Bank1MSP.
	firstHit := func(res *riskmeshv1.QueryResult) *riskmeshv1.ItemResult {
		for _, it := range res.Items {
			if len(it.Hits) > 0 && it.Hits[0].Provider == "Bank1MSP" {
				return it
			}
		}
		t.Fatal("no hit from Bank1MSP")
		return nil
	}
	for _, tc := range []struct {
		name  string
		spoil func(*riskmeshv1.QueryResult)
	}{
		{"item missing", func(r *riskmeshv1.QueryResult) { r.Items = r.Items[1:] }},
		{"hit dropped", func(r *riskmeshv1.QueryResult) { it := firstHit(r); it.Hits = it.Hits[1:] }},
		{"reason changed", func(r *riskmeshv1.QueryResult) { firstHit(r).Hits[0].Label.ReasonCode++ }},
		{"reference changed", func(r *riskmeshv1.QueryResult) { firstHit(r).Hits[0].Label.ProviderReference[7]++ }},
		{"provider summary carries hits", func(r *riskmeshv1.QueryResult) {
			it := firstHit(r)
			r.Providers[0].Hits = []*riskmeshv1.ProviderHit{{Index: it.Index, Label: it.Hits[0].Label}}
		}},
		{"hits from a provider that did not answer", func(r *riskmeshv1.QueryResult) {
			r.Providers[0].Status = riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED
		}},
		{"invalid reason", func(r *riskmeshv1.QueryResult) {
			for _, it := range r.Items {
				if it.InvalidReason != riskmeshv1.InvalidReason_INVALID_REASON_UNSPECIFIED {
					it.InvalidReason = riskmeshv1.InvalidReason_INVALID_REASON_COUNTRY_CODE
					return
				}
			}
		}},
		{"miss reported as hit", func(r *riskmeshv1.QueryResult) {
			for _, it := range r.Items {
				if len(it.Hits) == 0 && it.InvalidReason == riskmeshv1.InvalidReason_INVALID_REASON_UNSPECIFIED {
					it.Hits = []*riskmeshv1.Hit{{Provider: "Bank1MSP", Label: &riskmeshv1.Label{CategoryCode: 2}}}
					return
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := node(t, c, req, nil)
			tc.spoil(res)
			if err := b.Check(res); !errors.Is(err, ErrMismatch) {
				t.Errorf("Check = %v, want ErrMismatch", err)
			}
		})
	}
}

func TestLabelOf(t *testing.T) {
	l := catalog.Label{Category: 1, Reason: 101, Listed: civil(2024, 2, 29), Reference: reference(0)}
	want := &riskmeshv1.Label{CategoryCode: 1, ReasonCode: 101, ListedDate: "2024-02-29", ProviderReference: []byte("C0000001")}
	if got := labelOf(l); !proto.Equal(got, want) {
		t.Errorf("labelOf = %v, want %v", got, want)
	}
}
