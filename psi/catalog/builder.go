package catalog

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

// maxAttempts bounds the seeds Build tries. Each attempt succeeds with
// probability well above 1/2 once duplicates are removed (in practice
// nearly always the first), so exhausting 64 attempts means a bug or a
// broken random source, not bad luck.
const maxAttempts = 64

// Builder collects a provider's (PRF output, label) pairs and builds the
// catalog. Add keeps 28 bytes per item (the position hash and the sealed
// value), never the PRF output itself.
//
// Add is safe for concurrent use: the derivations run outside the lock, so
// goroutines evaluating the OPRF can add their outputs directly. The built
// catalog does not depend on the order of the calls.
type Builder struct {
	meta Meta

	mu      sync.Mutex
	entries []entry
	built   bool
}

// NewBuilder returns a builder for a catalog described by meta.
// expectedCount sizes the initial allocation; more items may be added.
func NewBuilder(meta Meta, expectedCount int) (*Builder, error) {
	if err := meta.Validate(); err != nil {
		return nil, err
	}
	if expectedCount < 0 || expectedCount > MaxItems {
		return nil, fmt.Errorf("%w: expected count %d", ErrTooManyItems, expectedCount)
	}
	return &Builder{meta: meta, entries: make([]entry, 0, expectedCount)}, nil
}

// Add records that the identifier with this PRF output carries label.
// Adding the same PRF output again with the same label is harmless; with a
// different label, Build fails with ErrConflict.
func (b *Builder) Add(prfOutput []byte, label Label) error {
	if !validPRFOutput(prfOutput) {
		return fmt.Errorf("%w: got %d bytes", ErrPRFOutput, len(prfOutput))
	}
	var plain [LabelSize]byte
	if err := label.put(&plain); err != nil {
		return err
	}
	var s itemSecrets
	deriveItem(prfOutput, &s)
	var e entry
	binary.BigEndian.PutUint64(e.hash[:], s.hash)
	e.value = s.seal(&plain)

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.built {
		return ErrBuilt
	}
	if len(b.entries) >= MaxItems {
		return ErrTooManyItems
	}
	b.entries = append(b.entries, e)
	return nil
}

// Len returns the number of Add calls accepted so far, repeats included.
func (b *Builder) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.entries)
}

// Build constructs the catalog, drawing construction seeds from random
// (crypto/rand.Reader if nil). The builder releases its items and cannot be
// used again, whether or not Build succeeds.
func (b *Builder) Build(random io.Reader) (*Catalog, error) {
	if random == nil {
		random = rand.Reader
	}
	b.mu.Lock()
	entries, built := b.entries, b.built
	b.entries, b.built = nil, true
	b.mu.Unlock()
	if built {
		return nil, ErrBuilt
	}

	sortEntries(entries)
	entries, err := dedupe(entries)
	if err != nil {
		return nil, err
	}
	params := smallestParams(uint64(len(entries)))
	slots := params.slots()

	var p peeler
	for range maxAttempts {
		var seed [8]byte
		if _, err := io.ReadFull(random, seed[:]); err != nil {
			return nil, fmt.Errorf("catalog: read construction seed: %w", err)
		}
		params.Seed = binary.BigEndian.Uint64(seed[:])
		l := newLayout(params)
		if len(entries) >= groupMin {
			groupBySegment(entries, &l)
		}
		if !p.peel(entries, &l, slots) {
			continue
		}
		c := &Catalog{
			meta:   b.meta,
			params: params,
			items:  uint64(len(entries)),
			layout: l,
			slots:  make([]byte, slots*ValueSize),
		}
		p.assign(entries, &l, c.slots)
		c.digest = c.computeDigest()
		return c, nil
	}
	return nil, ErrBuildFailed
}
