package ecdh

import "fmt"

// Items is a party's list, read by position. A reconciliation reads its
// items in a secret random order, one chunk at a time, so a list of 10^7
// entries can live in a file with an offset index rather than in memory.
// Item may be called from several goroutines at once; the slice it returns
// is read before the next call on the same goroutine and never kept.
type Items interface {
	Len() int
	Item(i int) ([]byte, error)
}

// ItemSlice is an in-memory list.
type ItemSlice [][]byte

// Len returns the number of items.
func (s ItemSlice) Len() int { return len(s) }

// Item returns item i.
func (s ItemSlice) Item(i int) ([]byte, error) {
	if i < 0 || i >= len(s) {
		return nil, fmt.Errorf("ecdh: item %d out of range [0, %d)", i, len(s))
	}
	return s[i], nil
}
