package recon

import (
	"bytes"
	"errors"
	"hash/maphash"
	"testing"

	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// TestReadRows reads a list with repeated identifiers and checks the rows
// are the first occurrence of each, in source order, with their own
// labels, and that the digest names exactly that sequence of identifiers.
func TestReadRows(t *testing.T) {
	list := phones(0, 50)
	again := list[7]
	again.Label.Reason = 9999 // a repeat with another label: the first row stays
	list = append(list, again, list[0], list[49])
	rs, _, err := readRows(t.Context(), List{Name: "x", Code: 1, Source: list})
	must(t, err)
	if rs.Len() != 50 {
		t.Fatalf("%d rows, want 50", rs.Len())
	}
	want := new(rows)
	for i, e := range phones(0, 50) {
		item, err := rs.Item(i)
		must(t, err)
		if !bytes.Equal(item, e.ID.AppendTo(nil)) || rs.labels[i] != e.Label {
			t.Fatalf("row %d is %q %+v, want %v %+v", i, item, rs.labels[i], e.ID, e.Label)
		}
		must(t, want.add(e))
	}
	if rs.digest() != want.digest() {
		t.Fatal("the digest depends on the repeats read")
	}
	shorter := new(rows)
	for _, e := range phones(0, 49) {
		must(t, shorter.add(e))
	}
	if rs.digest() == shorter.digest() {
		t.Fatal("the digest does not change with the list")
	}
	if _, err := rs.Item(50); err == nil {
		t.Fatal("Item(50) of 50 rows did not fail")
	}
	if _, err := rs.Item(-1); err == nil {
		t.Fatal("Item(-1) did not fail")
	}
	// Appending to an item must not reach into the next row.
	if item, _ := rs.Item(0); cap(item) != len(item) {
		t.Fatalf("row 0 has room for %d more bytes, over row 1", cap(item)-len(item))
	}
	if _, _, err := readRows(t.Context(), List{Name: "x", Code: 2, Source: list}); !errors.Is(err, ErrEmptyList) {
		t.Fatalf("reading no rows: %v, want ErrEmptyList", err)
	}
}

// TestSeenHashCollision plays two distinct identifiers whose hashes
// collide (forced: the first's hash is recorded under the second's) and
// checks neither is taken for a repeat of the other, while real repeats of
// both still are.
func TestSeenHashCollision(t *testing.T) {
	s := seen{seed: maphash.MakeSeed(), first: make(map[uint64]uint32)}
	rs := new(rows)
	a := catalogpsi.Entry{ID: ident.ID{Type: ident.Device, Value: "a"}, Label: catalog.Label{Category: 1}}
	b := catalogpsi.Entry{ID: ident.ID{Type: ident.Device, Value: "b"}, Label: catalog.Label{Category: 1}}
	if s.repeat(rs, a.ID.AppendTo(nil)) {
		t.Fatal("the first identifier is a repeat")
	}
	must(t, rs.add(a))
	s.first[maphash.Bytes(s.seed, b.ID.AppendTo(nil))] = 0 // b's hash now names a's row
	if s.repeat(rs, b.ID.AppendTo(nil)) {
		t.Fatal("an identifier whose hash collides with another's is taken for a repeat")
	}
	must(t, rs.add(b))
	for _, e := range []catalogpsi.Entry{a, b} {
		if !s.repeat(rs, e.ID.AppendTo(nil)) {
			t.Fatalf("%v read again is not a repeat", e.ID)
		}
	}
}
