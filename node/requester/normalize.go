package requester

import (
	"errors"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// identTypes maps the API's identifier types to psi/ident's.
var identTypes = map[riskmeshv1.IdentifierType]ident.Type{
	riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE:  ident.Phone,
	riskmeshv1.IdentifierType_IDENTIFIER_TYPE_IDCARD: ident.IDCard,
	riskmeshv1.IdentifierType_IDENTIFIER_TYPE_CARD:   ident.Card,
	riskmeshv1.IdentifierType_IDENTIFIER_TYPE_EMAIL:  ident.Email,
	riskmeshv1.IdentifierType_IDENTIFIER_TYPE_DEVICE: ident.Device,
}

// invalidReasons maps psi/ident's sentinels to the API's reasons.
var invalidReasons = []struct {
	err    error
	reason riskmeshv1.InvalidReason
}{
	{ident.ErrUnknownType, riskmeshv1.InvalidReason_INVALID_REASON_UNKNOWN_TYPE},
	{ident.ErrEmpty, riskmeshv1.InvalidReason_INVALID_REASON_EMPTY},
	{ident.ErrLength, riskmeshv1.InvalidReason_INVALID_REASON_LENGTH},
	{ident.ErrFormat, riskmeshv1.InvalidReason_INVALID_REASON_FORMAT},
	{ident.ErrChecksum, riskmeshv1.InvalidReason_INVALID_REASON_CHECKSUM},
	{ident.ErrDate, riskmeshv1.InvalidReason_INVALID_REASON_DATE},
	{ident.ErrCountryCode, riskmeshv1.InvalidReason_INVALID_REASON_COUNTRY_CODE},
}

// normalized is a query's batch after normalisation: the distinct valid
// identifiers, and for each the request indices that carry it.
type normalized struct {
	items   []*riskmeshv1.ItemResult // one per request identifier; invalid ones filled in
	ids     []ident.ID               // distinct valid identifiers, in first-seen order
	indices [][]uint32               // request indices of ids[i]
	valid   int                      // request identifiers that normalised
}

// normalize normalises every identifier. An invalid one gets its reason
// and a detail that never repeats the identifier (psi/ident's errors do
// not); it does not fail the batch.
//
// A large query is normalised before its first request can be blinded, so
// the items and the one-index lists are carved out of one array each rather
// than allocated one by one; a duplicate's list grows on its own (its cap is
// one).
func normalize(n *ident.Normalizer, in []*riskmeshv1.Identifier) *normalized {
	out := &normalized{items: make([]*riskmeshv1.ItemResult, len(in)),
		ids: make([]ident.ID, 0, len(in)), indices: make([][]uint32, 0, len(in))}
	items := make([]riskmeshv1.ItemResult, len(in))
	firsts := make([]uint32, len(in))
	seen := make(map[ident.ID]int, len(in))
	for i, raw := range in {
		item := &items[i]
		item.Index = uint32(i)
		out.items[i] = item
		t, ok := identTypes[raw.GetType()]
		if !ok {
			item.InvalidReason = riskmeshv1.InvalidReason_INVALID_REASON_UNKNOWN_TYPE
			item.InvalidDetail = "identifier type not set or unknown"
			continue
		}
		id, err := n.Normalize(t, raw.GetValue())
		if err != nil {
			item.InvalidReason, item.InvalidDetail = reasonOf(err)
			continue
		}
		out.valid++
		if j, dup := seen[id]; dup {
			out.indices[j] = append(out.indices[j], uint32(i))
			continue
		}
		seen[id] = len(out.ids)
		out.ids = append(out.ids, id)
		firsts[i] = uint32(i)
		out.indices = append(out.indices, firsts[i:i+1:i+1])
	}
	return out
}

func reasonOf(err error) (riskmeshv1.InvalidReason, string) {
	detail := "invalid identifier"
	var ie *ident.Error
	if errors.As(err, &ie) {
		detail = ie.Error()
	}
	for _, m := range invalidReasons {
		if errors.Is(err, m.err) {
			return m.reason, detail
		}
	}
	return riskmeshv1.InvalidReason_INVALID_REASON_FORMAT, detail
}
