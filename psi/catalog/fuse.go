package catalog

import (
	"math"
	"math/bits"
)

// Params are the construction parameters of a catalog's binary fuse
// structure (Graf and Lemire, "Binary Fuse Filters: Fast and Smaller Than
// Xor Filters", 2022). The slot array has (SegmentCount + Arity - 1)
// segments of SegmentLength slots; an item's first slot lies in one of the
// first SegmentCount segments and its other Arity-1 slots in the segments
// that follow, one slot per segment.
type Params struct {
	// Seed is mixed into every item's position hash; the builder draws a
	// new one each time peeling fails.
	Seed uint64
	// Arity is the number of slots whose XOR is an item's value: 3 or 4.
	Arity uint8
	// SegmentLength is a power of two, at most MaxSegmentLength.
	SegmentLength uint32
	// SegmentCount is at least 1.
	SegmentCount uint32
}

// Format limits on the construction parameters.
const (
	// MaxSegmentLength is the largest segment the builder uses and the
	// decoder accepts (2^18 slots, as in the paper: longer segments do not
	// improve the success rate and hurt locality).
	MaxSegmentLength = 1 << 18
	// MaxSlots bounds the slot array so that slot positions fit in uint32
	// with room to spare: 2^31 slots of ValueSize bytes is 40 GiB, far
	// beyond any decoder limit.
	MaxSlots = 1 << 31
	// MaxItems is the largest item count the format allows; item indexes
	// are uint32 during construction.
	MaxItems = 1 << 30
)

// Slots returns the number of slots of p's array, or 0 if p is invalid.
func (p Params) Slots() uint64 {
	if p.validate() != nil {
		return 0
	}
	return p.slots()
}

func (p Params) slots() uint64 {
	return (uint64(p.SegmentCount) + uint64(p.Arity) - 1) * uint64(p.SegmentLength)
}

// validate checks the parameters on their own (not against an item count).
func (p Params) validate() error {
	switch {
	case p.Arity != 3 && p.Arity != 4:
		return ErrParams
	case p.SegmentLength == 0 || p.SegmentLength > MaxSegmentLength || p.SegmentLength&(p.SegmentLength-1) != 0:
		return ErrParams
	case p.SegmentCount == 0:
		return ErrParams
	case p.slots() > MaxSlots:
		return ErrParams
	}
	return nil
}

// layout is Params prepared for computing positions.
type layout struct {
	seed   uint64
	arity  int
	segLen uint32
	mask   uint32
	span   uint64 // SegmentCount * SegmentLength: the range of the first slot
}

func newLayout(p Params) layout {
	return layout{
		seed:   p.Seed,
		arity:  int(p.Arity),
		segLen: p.SegmentLength,
		mask:   p.SegmentLength - 1,
		span:   uint64(p.SegmentCount) * uint64(p.SegmentLength),
	}
}

// positions writes the item's Arity slot positions into pos. The first is
// uniform over [0, span) (multiply-high reduction of the mixed hash); slot
// i > 0 is the position i segments later with its in-segment offset
// replaced by independent hash bits (XOR with the mask keeps it inside that
// segment). Positions are therefore distinct and below Slots().
//
// Bits used for arity 3: the top bits of m select the first slot, bits
// 18..35 and 0..17 the two offsets. For arity 4 the third offset comes from
// a second mixing round, so no offset shares bits with the first slot.
func (l *layout) positions(hash uint64, pos *[4]uint32) {
	m := mix64(hash + l.seed)
	hi, _ := bits.Mul64(m, l.span)
	h0 := uint32(hi)
	pos[0] = h0
	pos[1] = (h0 + l.segLen) ^ (uint32(m>>18) & l.mask)
	pos[2] = (h0 + 2*l.segLen) ^ (uint32(m) & l.mask)
	if l.arity == 4 {
		pos[3] = (h0 + 3*l.segLen) ^ (uint32(mix64(m)) & l.mask)
	}
}

// mix64 is the MurmurHash3 64-bit finaliser: a bijection whose output bits
// each depend on every input bit. The position hash is already pseudorandom;
// mixing makes the positions under two seeds independent.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// chooseParams picks the segment length and count for n items, from the
// sizing rules of the binary fuse paper: for arity 3, segment length
// 2^floor(log_3.33(n) + 2.25) and at least 1.125 n slots (more for small n,
// where peeling needs more slack: 0.875 + 0.25 ln(10^6)/ln(n)); for arity 4,
// 2^floor(log_2.91(n) - 0.5) and max(1.075, 0.77 + 0.305 ln(600000)/ln(n)).
// The seed is left zero. The result is a builder policy, not a format rule.
func chooseParams(n uint64, arity uint8) Params {
	x := math.Log(float64(max(n, 2)))
	var e, factor float64
	if arity == 3 {
		e = math.Floor(x/math.Log(3.33) + 2.25)
		factor = max(1.125, 0.875+0.25*math.Log(1e6)/x)
	} else {
		e = math.Floor(x/math.Log(2.91) - 0.5)
		factor = max(1.075, 0.77+0.305*math.Log(6e5)/x)
	}
	e = min(max(e, 2), 18)
	segLen := uint64(1) << uint(e)
	capacity := uint64(math.Ceil(float64(max(n, 2)) * factor))
	segments := (capacity + segLen - 1) / segLen
	segCount := uint64(1)
	if segments > uint64(arity) {
		segCount = segments - uint64(arity) + 1
	}
	return Params{Arity: arity, SegmentLength: uint32(segLen), SegmentCount: uint32(segCount)}
}

// smallestParams returns whichever arity gives fewer slots for n items
// (arity 3 on a tie: one memory access fewer per lookup).
func smallestParams(n uint64) Params {
	p3, p4 := chooseParams(n, 3), chooseParams(n, 4)
	if p4.slots() < p3.slots() {
		return p4
	}
	return p3
}
