package catalog

import (
	"fmt"
	"runtime"
)

// Catalog is a built or decoded catalog: the metadata, the construction
// parameters and the slot array. It is immutable and safe for concurrent
// lookups.
type Catalog struct {
	meta   Meta
	params Params
	items  uint64
	layout layout
	slots  []byte // params.slots() * ValueSize bytes
	digest [DigestSize]byte
	mapped *mapping // the file slots are mapped from, if Open mapped one
}

// Lookup returns the label of the item with this PRF output. For a PRF
// output that was not catalogued it returns false, except with probability
// 2^-32 per lookup. It also returns false if the slots' tag matches but the
// decrypted label is invalid, which only a provider that bypassed Builder
// can cause, and if reading an opened catalog's file failed, which Err then
// reports: check Err after a batch of look-ups before trusting its misses,
// or use LookupAll, which returns the error. Lookup does not allocate; the
// tag comparison is constant time.
func (c *Catalog) Lookup(prfOutput []byte) (Label, bool) {
	if !validPRFOutput(prfOutput) {
		return Label{}, false
	}
	var s itemSecrets
	deriveItem(prfOutput, &s)
	var pos [4]uint32
	c.layout.positions(s.hash, &pos)
	var v [ValueSize]byte
	if c.mapped != nil && !c.mapped.inMemory() {
		var offs [4]int64
		var slots [4 * ValueSize]byte
		for i, t := range pos[:c.layout.arity] {
			offs[i] = c.mapped.slotOffset(t)
		}
		if c.mapped.readSlots(offs[:c.layout.arity], slots[:]) != nil {
			return Label{}, false
		}
		for i := range c.layout.arity {
			xorValue(&v, slots[:], uint32(i))
		}
	} else {
		for _, t := range pos[:c.layout.arity] {
			xorValue(&v, c.slots, t)
		}
	}
	runtime.KeepAlive(c) // a mapped catalog's file is closed and unmapped with c (Open)
	return s.label(&v)
}

// label returns the label v holds for the item of s, if v's tag is the
// item's and the label is valid.
func (s *itemSecrets) label(v *[ValueSize]byte) (Label, bool) {
	var plain [LabelSize]byte
	if !s.open(v, &plain) {
		return Label{}, false
	}
	var l Label
	if l.parse(&plain) != nil {
		return Label{}, false
	}
	return l, true
}

// Err returns the first error reading the catalog's file in a look-up, nil
// if none has failed (always nil for a catalog in the heap). Once it is set,
// misses since may be wrong: the file is damaged or unreadable and the
// catalog should be opened again from a verified copy.
func (c *Catalog) Err() error {
	if c.mapped == nil {
		return nil
	}
	if err := c.mapped.readErr.Load(); err != nil {
		return fmt.Errorf("catalog: read slots: %w", *err)
	}
	return nil
}

// InMemory reports whether look-ups read the catalog's slots in memory: a
// catalog in the heap, or an opened one read in memory within the resident
// budget (SetResidentBudget). The others read each slot from the file.
func (c *Catalog) InMemory() bool { return c.mapped == nil || c.mapped.resident.Load() }

// Meta returns the catalog's metadata.
func (c *Catalog) Meta() Meta { return c.meta }

// Params returns the construction parameters.
func (c *Catalog) Params() Params { return c.params }

// Len returns the number of distinct items the catalog's header states. For
// a catalog Build made, that is the number of items added. For a decoded
// one it is the provider's claim: Decode checks only that it does not
// exceed the slot count (Params), which the downloaded bytes do bound, and
// nothing can check more, since the slots of real and invented items look
// alike. Use it as an upper bound on the list's size, never as a count.
func (c *Catalog) Len() int { return int(c.items) }

// Digest returns the SHA-256 digest of the catalog's encoding, the value
// published on the ledger.
func (c *Catalog) Digest() [DigestSize]byte { return c.digest }
