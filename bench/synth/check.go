package synth

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
)

// maxMismatches bounds the mismatches one Check reports.
const maxMismatches = 10

// Request returns the batch as a business API query of its category, the
// identifiers in item order and in their raw forms, so results refer to
// items by index.
func (b *Batch) Request() *riskmeshv1.QueryRequest {
	req := &riskmeshv1.QueryRequest{Category: b.Category.String(), Identifiers: make([]*riskmeshv1.Identifier, len(b.Items))}
	for i, it := range b.Items {
		t := riskmeshv1.IdentifierType(riskmeshv1.IdentifierType_value["IDENTIFIER_TYPE_"+strings.ToUpper(string(it.Type))])
		req.Identifiers[i] = &riskmeshv1.Identifier{Type: t, Value: it.Raw}
	}
	return req
}

// Check compares a node's final result for b.Request() with the expected
// one: per item the invalid reason and the merged hits (providers and
// labels, in provider order). Only providers whose status is ANSWERED are
// expected to report hits: the others said nothing, and a test that needs
// every provider to answer checks the statuses itself. The provider
// summaries must leave their hits out, as QueryResult documents: the items
// carry them.
//
// The error wraps ErrMismatch and lists up to ten differences by item index
// and provider; it never quotes an identifier, so it can be logged.
func (b *Batch) Check(res *riskmeshv1.QueryResult) error {
	if n := len(res.GetItems()); n != len(b.Items) {
		return fmt.Errorf("%w: %d items, want %d", ErrMismatch, n, len(b.Items))
	}
	answered := make(map[string]bool)
	var errs []error
	mismatch := func(format string, args ...any) {
		if len(errs) < maxMismatches {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	for _, p := range res.GetProviders() {
		if p.GetStatus() == riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
			answered[p.GetProvider()] = true
		}
		if n := len(p.GetHits()); n != 0 {
			mismatch("provider %s: summary carries %d hits, want them in the items only", p.GetProvider(), n)
		}
	}
	for i, it := range b.Items {
		got := res.GetItems()[i]
		if got.GetIndex() != uint32(i) {
			mismatch("item %d: index %d", i, got.GetIndex())
		}
		if got.GetInvalidReason() != it.InvalidReason {
			mismatch("item %d: invalid reason %v, want %v", i, got.GetInvalidReason(), it.InvalidReason)
		}
		var want []*riskmeshv1.Hit
		for _, h := range it.Hits {
			if answered[h.Provider] {
				want = append(want, &riskmeshv1.Hit{Provider: h.Provider, Label: labelOf(h.Label)})
			}
		}
		if !equalAll(got.GetHits(), want) {
			mismatch("item %d: hits %s, want %s", i, describe(got.GetHits()), describe(want))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrMismatch, errors.Join(errs...))
}

// labelOf is a catalog label as the business API reports it.
func labelOf(l catalog.Label) *riskmeshv1.Label {
	return &riskmeshv1.Label{
		CategoryCode:      uint32(l.Category),
		ReasonCode:        uint32(l.Reason),
		ListedDate:        l.Listed.String(),
		ProviderReference: l.Reference[:],
	}
}

// equalAll reports whether got and want hold equal messages in the same
// order.
func equalAll[M proto.Message](got, want []M) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			return false
		}
	}
	return true
}

// describe lists hits as "[provider category/reason/listed/reference ...]";
// labels carry no identifier.
func describe(hits []*riskmeshv1.Hit) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, h := range hits {
		if i > 0 {
			b.WriteByte(' ')
		}
		l := h.GetLabel()
		fmt.Fprintf(&b, "%s %d/%d/%s/%q", h.GetProvider(), l.GetCategoryCode(), l.GetReasonCode(), l.GetListedDate(), l.GetProviderReference())
	}
	b.WriteByte(']')
	return b.String()
}
