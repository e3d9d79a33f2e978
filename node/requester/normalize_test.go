package requester

import (
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ident"
)

func TestNormalizeReportsEachReason(t *testing.T) {
	const (
		phoneT  = riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE
		cardT   = riskmeshv1.IdentifierType_IDENTIFIER_TYPE_CARD
		emailT  = riskmeshv1.IdentifierType_IDENTIFIER_TYPE_EMAIL
		idcardT = riskmeshv1.IdentifierType_IDENTIFIER_TYPE_IDCARD
	)
	tests := []struct {
		name  string
		in    *riskmeshv1.Identifier
		want  riskmeshv1.InvalidReason
		value string // a fragment of the input that must not appear in the detail
	}{
		{"unknown type", &riskmeshv1.Identifier{Value: "+8613800138000"}, riskmeshv1.InvalidReason_INVALID_REASON_UNKNOWN_TYPE, "13800138000"},
		{"empty", &riskmeshv1.Identifier{Type: phoneT, Value: "  "}, riskmeshv1.InvalidReason_INVALID_REASON_EMPTY, ""},
		{"length", &riskmeshv1.Identifier{Type: cardT, Value: "123987"}, riskmeshv1.InvalidReason_INVALID_REASON_LENGTH, "123987"},
		{"too long", &riskmeshv1.Identifier{Type: phoneT, Value: strings.Repeat("9", ident.MaxRawLen+1)}, riskmeshv1.InvalidReason_INVALID_REASON_LENGTH, "99999"},
		{"format", &riskmeshv1.Identifier{Type: emailT, Value: "someone.example.com"}, riskmeshv1.InvalidReason_INVALID_REASON_FORMAT, "someone"},
		{"checksum", &riskmeshv1.Identifier{Type: cardT, Value: "4111111111111112"}, riskmeshv1.InvalidReason_INVALID_REASON_CHECKSUM, "41111111"},
		{"date", &riskmeshv1.Identifier{Type: idcardT, Value: "110105194913310021"}, riskmeshv1.InvalidReason_INVALID_REASON_DATE, "1949133"},
		{"country code", &riskmeshv1.Identifier{Type: phoneT, Value: "13800138000"}, riskmeshv1.InvalidReason_INVALID_REASON_COUNTRY_CODE, "13800138000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := normalize(new(ident.Normalizer), []*riskmeshv1.Identifier{tt.in})
			item := n.items[0]
			if item.InvalidReason != tt.want || item.InvalidDetail == "" || n.valid != 0 || len(n.ids) != 0 {
				t.Fatalf("item %v, want %v", item, tt.want)
			}
			if tt.value != "" && strings.Contains(item.InvalidDetail, tt.value) {
				t.Fatalf("detail %q repeats the identifier", item.InvalidDetail)
			}
		})
	}
}

func TestNormalizeSendsDuplicatesOnce(t *testing.T) {
	n := normalize(new(ident.Normalizer), []*riskmeshv1.Identifier{
		{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: "+86 138 0013 8000"},
		{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: "x"},
		{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: "008613800138000"},
	})
	if n.valid != 2 || len(n.ids) != 1 || len(n.indices[0]) != 2 || n.indices[0][0] != 0 || n.indices[0][1] != 2 {
		t.Fatalf("valid %d, ids %v, indices %v: want one identifier at indices 0 and 2", n.valid, n.ids, n.indices)
	}
}
