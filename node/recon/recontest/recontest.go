// Package recontest holds what tests of reconciliations outside node/recon
// share: a list source of generated rows.
package recontest

import (
	"context"
	"fmt"
	"iter"

	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// Phones is a reconciliation list of the phone numbers +41 followed by i
// on nine digits, for i in [Lo, Hi), each under the category code it is
// asked for: two Phones share the numbers their ranges share.
type Phones struct{ Lo, Hi int }

var _ lists.Source = Phones{}

// Entries yields the rows in order.
func (p Phones) Entries(_ context.Context, code uint8) iter.Seq2[catalogpsi.Entry, error] {
	return func(yield func(catalogpsi.Entry, error) bool) {
		for i := p.Lo; i < p.Hi; i++ {
			e := catalogpsi.Entry{ID: ident.ID{Type: ident.Phone, Value: fmt.Sprintf("+41%09d", i)}, Label: catalog.Label{Category: code}}
			if !yield(e, nil) {
				return
			}
		}
	}
}
