package catalog

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
)

// Answer is the result of one look-up of LookupAll: Lookup's two results.
type Answer struct {
	Label Label
	Found bool
}

// LookupAll looks up every PRF output of prfOutputs as Lookup does and
// writes each answer to the same index of answers, which must be as long.
//
// For a catalog read from its file (opened beyond the resident budget,
// SetResidentBudget) it reads the slots of up to a few hundred look-ups
// with one system call (io_uring, on Linux where the system allows it;
// one positioned read per slot elsewhere), where Lookup makes one call per
// look-up: a batch costs a fraction of as many Lookups
// (docs/protocol/catalog.md, "What is resident"). A read of the file that
// fails is returned (and kept for Err): the answers are then incomplete and
// must not be used, since a miss may be a slot not read. Safe for
// concurrent use; it runs on the calling goroutine, so a caller wanting
// both cores splits the batch. Beyond the answers it uses a fixed scratch
// of about 57 KiB, whatever the batch's size.
func (c *Catalog) LookupAll(prfOutputs [][]byte, answers []Answer) error {
	if len(answers) != len(prfOutputs) {
		return fmt.Errorf("%w: %d answers for %d PRF outputs", ErrAnswers, len(answers), len(prfOutputs))
	}
	defer runtime.KeepAlive(c) // a mapped catalog's file is closed and unmapped with c (Open)
	if c.mapped == nil || c.mapped.inMemory() {
		for i, y := range prfOutputs {
			answers[i].Label, answers[i].Found = c.Lookup(y)
		}
		return nil
	}
	b := fileBatches.Get().(*fileBatch)
	defer fileBatches.Put(b)
	per := ringEntries / c.layout.arity
	for start := 0; start < len(prfOutputs); start += per {
		end := min(start+per, len(prfOutputs))
		if err := c.lookupFromFile(b, prfOutputs[start:end], answers[start:end]); err != nil {
			return fmt.Errorf("catalog: read slots: %w", err)
		}
	}
	return nil
}

// fileBatch is LookupAll's scratch for up to ringEntries slot reads: the
// derivations of the batch's items, the slots to read in file order and
// their bytes.
type fileBatch struct {
	items [ringEntries / 3]itemSecrets
	valid [ringEntries / 3]bool
	// reads holds slot<<32 | k for the batch's k-th slot read, sorted:
	// the kernel then walks the file's page cache in order, which made
	// io_uring's reads of a 21.5 MB file 1.4 to 1.65 times as fast as in
	// the items' order, and those of a 215 MB one no slower (a
	// microbenchmark, docs/benchmarks.md, "Batched slot reads beyond the
	// budget"), for
	// about 20 ns a read of sorting.
	reads [ringEntries]uint64
	offs  [ringEntries]int64
	// where[k] is the index, in file order, of the k-th slot read.
	where [ringEntries]uint16
	slots [ringEntries * ValueSize]byte
}

var fileBatches = sync.Pool{New: func() any { return new(fileBatch) }}

// lookupFromFile answers at most ringEntries/arity look-ups with one batch
// of slot reads from the catalog's file.
func (c *Catalog) lookupFromFile(b *fileBatch, prfOutputs [][]byte, answers []Answer) error {
	arity := c.layout.arity
	reads := b.reads[:0]
	for i, y := range prfOutputs {
		if b.valid[i] = validPRFOutput(y); !b.valid[i] {
			continue
		}
		deriveItem(y, &b.items[i])
		var pos [4]uint32
		c.layout.positions(b.items[i].hash, &pos)
		for _, t := range pos[:arity] {
			reads = append(reads, uint64(t)<<32|uint64(len(reads)))
		}
	}
	slices.Sort(reads)
	offs := b.offs[:len(reads)]
	for j, r := range reads {
		offs[j] = c.mapped.slotOffset(uint32(r >> 32))
		b.where[uint32(r)] = uint16(j)
	}
	slots := b.slots[:len(offs)*ValueSize]
	if err := c.mapped.readSlots(offs, slots); err != nil {
		return err
	}
	k := 0 // the next slot read, in the items' order
	for i := range prfOutputs {
		if !b.valid[i] {
			answers[i] = Answer{}
			continue
		}
		var v [ValueSize]byte
		for range arity {
			xorValue(&v, slots, uint32(b.where[k]))
			k++
		}
		answers[i].Label, answers[i].Found = b.items[i].label(&v)
	}
	return nil
}
