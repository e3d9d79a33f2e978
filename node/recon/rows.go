package recon

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ecdh"
)

// row is one entry of a list as a reconciliation reads it: the canonical
// identifier bytes it masks and the label it reports when matched.
type row struct {
	item  []byte
	label catalog.Label
}

// rows is a list read into memory, in source order without repeats: the
// psi/ecdh Items a Reconciler masks, and what a match index names.
type rows []row

var _ ecdh.Items = rows(nil)

func (r rows) Len() int { return len(r) }

func (r rows) Item(i int) ([]byte, error) {
	if i < 0 || i >= len(r) {
		return nil, fmt.Errorf("recon: row %d out of range [0, %d)", i, len(r))
	}
	return r[i].item, nil
}

// readRows reads list l once. Rows the source rejects are skipped (the
// report counts them); a repeated identifier keeps its first row, because
// a reconciliation's items must be distinct.
func readRows(ctx context.Context, l List) (rows, lists.Report, error) {
	var out rows
	seen := make(map[string]struct{})
	rep, err := lists.Drain(l.Source.Entries(ctx, l.Code), func(e catalogpsi.Entry) error {
		item := e.ID.AppendTo(nil)
		if _, dup := seen[string(item)]; dup {
			return nil
		}
		if len(out) == ecdh.MaxReconItems {
			return fmt.Errorf("%w: list %q has more than %d entries", ecdh.ErrSetTooLarge, l.Name, ecdh.MaxReconItems)
		}
		seen[string(item)] = struct{}{}
		out = append(out, row{item: item, label: e.Label})
		return nil
	})
	if err != nil {
		return nil, rep, fmt.Errorf("recon: read list %q: %w", l.Name, err)
	}
	if len(out) == 0 {
		return nil, rep, fmt.Errorf("%w: %q", ErrEmptyList, l.Name)
	}
	return out, rep, nil
}

// digest is the SHA-256 of the items in order, each length-prefixed: a
// side resumes only over the very list it masked before.
func (r rows) digest() [sha256.Size]byte {
	h := sha256.New()
	var n [4]byte
	for _, row := range r {
		binary.BigEndian.PutUint32(n[:], uint32(len(row.item)))
		h.Write(n[:])
		h.Write(row.item)
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}
