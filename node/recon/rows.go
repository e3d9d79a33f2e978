package recon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"

	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ecdh"
)

// rows is a list read into memory, in source order without repeats: the
// psi/ecdh Items a Reconciler masks, and what a match index names. It is
// held compactly, the identifiers' canonical bytes one after the other
// and a label per row (about 45 bytes a row for a 20-byte identifier,
// where a slice and an allocation per row cost about 100): a side holds
// its whole list for the reconciliation's length, because it masks its
// rows in a secret order.
type rows struct {
	data   []byte   // the identifiers, one after the other
	ends   []uint32 // row i's identifier is data[ends[i-1]:ends[i]]
	labels []catalog.Label
}

var _ ecdh.Items = (*rows)(nil)

func (r *rows) Len() int { return len(r.ends) }

func (r *rows) Item(i int) ([]byte, error) {
	if i < 0 || i >= len(r.ends) {
		return nil, fmt.Errorf("recon: row %d out of range [0, %d)", i, len(r.ends))
	}
	return r.item(i), nil
}

// item is row i's identifier, capped so that appending to it cannot
// overwrite the next row.
func (r *rows) item(i int) []byte {
	var lo uint32
	if i > 0 {
		lo = r.ends[i-1]
	}
	return r.data[lo:r.ends[i]:r.ends[i]]
}

// add appends e as the next row.
func (r *rows) add(e catalogpsi.Entry) error {
	data := e.ID.AppendTo(r.data)
	if len(data) > math.MaxUint32 {
		return fmt.Errorf("%w: more than 4 GiB of identifiers", ecdh.ErrSetTooLarge)
	}
	r.data = data
	r.ends = append(r.ends, uint32(len(data)))
	r.labels = append(r.labels, e.Label)
	return nil
}

// readRows reads list l once. Rows the source rejects are skipped (the
// report counts them); a repeated identifier keeps its first row, because
// a reconciliation's items must be distinct.
func readRows(ctx context.Context, l List) (*rows, lists.Report, error) {
	out := new(rows)
	seen := seen{seed: maphash.MakeSeed(), first: make(map[uint64]uint32)}
	var item []byte
	rep, err := lists.Drain(l.Source.Entries(ctx, l.Code), func(e catalogpsi.Entry) error {
		item = e.ID.AppendTo(item[:0])
		if seen.repeat(out, item) {
			return nil
		}
		if out.Len() == ecdh.MaxReconItems {
			return fmt.Errorf("%w: list %q has more than %d entries", ecdh.ErrSetTooLarge, l.Name, ecdh.MaxReconItems)
		}
		return out.add(e)
	})
	if err != nil {
		return nil, rep, fmt.Errorf("recon: read list %q: %w", l.Name, err)
	}
	if out.Len() == 0 {
		return nil, rep, fmt.Errorf("%w: %q", ErrEmptyList, l.Name)
	}
	return out, rep, nil
}

// seen finds repeated identifiers while a list is read, in about 20 bytes
// a row rather than a copy of every identifier: a keyed 64-bit hash of
// each maps to the first row that has it, and only identifiers whose
// hashes collide with another's are kept whole.
type seen struct {
	seed  maphash.Seed
	first map[uint64]uint32
	more  map[string]struct{}
}

// repeat reports whether item is in rs already; if not, it records item
// as the next row's.
func (s *seen) repeat(rs *rows, item []byte) bool {
	h := maphash.Bytes(s.seed, item)
	i, ok := s.first[h]
	switch {
	case !ok:
		s.first[h] = uint32(rs.Len())
		return false
	case bytes.Equal(rs.item(int(i)), item):
		return true
	}
	if _, ok := s.more[string(item)]; ok {
		return true
	}
	if s.more == nil {
		s.more = make(map[string]struct{})
	}
	s.more[string(item)] = struct{}{}
	return false
}

// digest is the SHA-256 of the items in order, each length-prefixed: a
// side resumes only over the very list it masked before.
func (r *rows) digest() [sha256.Size]byte {
	h := sha256.New()
	var n [4]byte
	for i := range r.Len() {
		item := r.item(i)
		binary.BigEndian.PutUint32(n[:], uint32(len(item)))
		h.Write(n[:])
		h.Write(item)
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}
