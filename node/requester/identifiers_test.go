package requester

import (
	"testing"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// TestNationalNumbersMatchWithDefaultCallingCode: with the consortium's
// calling code configured, a business system's national-format number is
// the same person as the provider's international entry; without it, the
// same number is refused as lacking a country code rather than guessed.
func TestNationalNumbersMatchWithDefaultCallingCode(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	national := []*riskmeshv1.Identifier{
		{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: "138-0000-0003"},  // phone(3), listed
		{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: "(0)13800000500"}, // not listed
	}
	tests := []struct {
		name    string
		cfg     ident.Config
		hits    []int
		invalid riskmeshv1.InvalidReason
	}{
		{"with 86", ident.Config{DefaultCallingCode: "86"}, []int{1, 0}, 0},
		{"strict default", ident.Config{}, []int{0, 0}, riskmeshv1.InvalidReason_INVALID_REASON_COUNTRY_CODE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := n.newRequester("", func(c *setup) { c.Identifiers = tt.cfg })
			ready(t, r)
			events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: national})
			res := events[len(events)-1].GetResult()
			if res == nil || len(res.Items) != len(national) {
				t.Fatalf("last event %v, want a result of %d items", events[len(events)-1], len(national))
			}
			for i, item := range res.Items {
				if len(item.Hits) != tt.hits[i] || item.InvalidReason != tt.invalid {
					t.Errorf("item %d: %d hits (invalid %v), want %d (invalid %v)", i, len(item.Hits), item.InvalidReason, tt.hits[i], tt.invalid)
				}
			}
		})
	}
}
