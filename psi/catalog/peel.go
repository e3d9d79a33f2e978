package catalog

import "encoding/binary"

// entry is what the builder keeps per item: the position hash and the
// sealed value, 28 bytes with no padding (byte arrays only).
type entry struct {
	hash  [8]byte // big-endian, so byte order is numeric order
	value [ValueSize]byte
}

func (e *entry) positionHash() uint64 { return binary.BigEndian.Uint64(e.hash[:]) }

// peeler holds the scratch space of one construction, reused across seeds.
type peeler struct {
	count []uint8  // items still unpeeled that use each slot
	xor   []uint32 // XOR of the indexes of those items
	queue []uint32 // slots whose count dropped to 1, to be examined
	order []uint32 // slots in peeling order; slot s solves item xor[s]
}

// peel tries to order the items so that each has a slot used by no item
// peeled after it (the hypergraph's 2-core is empty). It returns false if
// some items remain, which happens with small probability for a random seed;
// the caller then retries with a new seed.
func (p *peeler) peel(entries []entry, l *layout, slots uint64) bool {
	if uint64(cap(p.count)) < slots {
		p.count = make([]uint8, slots)
		p.xor = make([]uint32, slots)
		p.queue = make([]uint32, 0, slots)
	}
	count, xor := p.count[:slots], p.xor[:slots]
	clear(count)
	clear(xor)
	if cap(p.order) < len(entries) {
		p.order = make([]uint32, 0, len(entries))
	}

	var pos [4]uint32
	for i := range entries {
		l.positions(entries[i].positionHash(), &pos)
		for _, s := range pos[:l.arity] {
			if count[s] == 255 {
				return false // a slot this crowded will not peel; reseed
			}
			count[s]++
			xor[s] ^= uint32(i)
		}
	}

	queue := p.queue[:0]
	for s, c := range count {
		if c == 1 {
			queue = append(queue, uint32(s))
		}
	}
	order := p.order[:0]
	for len(queue) > 0 {
		s := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if count[s] != 1 {
			continue // emptied since it was queued
		}
		i := xor[s]
		order = append(order, s)
		l.positions(entries[i].positionHash(), &pos)
		for _, t := range pos[:l.arity] {
			count[t]--
			if t == s {
				continue
			}
			xor[t] ^= i
			if count[t] == 1 {
				queue = append(queue, t)
			}
		}
	}
	p.order = order
	return len(order) == len(entries)
}

// assign fills the slot array so that each item's slots XOR to its value,
// solving items in reverse peeling order: when item i is solved through
// slot s, its other slots are final (no item solved later touches them),
// so s is set to the value XOR those slots. Slots no item solves stay zero.
func (p *peeler) assign(entries []entry, l *layout, out []byte) {
	var pos [4]uint32
	for k := len(p.order) - 1; k >= 0; k-- {
		s := p.order[k]
		i := p.xor[s]
		l.positions(entries[i].positionHash(), &pos)
		v := entries[i].value
		for _, t := range pos[:l.arity] {
			if t != s {
				xorValue(&v, out, t)
			}
		}
		copy(out[int(s)*ValueSize:], v[:])
	}
}

// xorValue XORs slot t of the array into v.
func xorValue(v *[ValueSize]byte, slots []byte, t uint32) {
	off := int(t) * ValueSize
	w := (*[ValueSize]byte)(slots[off : off+ValueSize])
	a := binary.LittleEndian.Uint64(v[0:8]) ^ binary.LittleEndian.Uint64(w[0:8])
	b := binary.LittleEndian.Uint64(v[8:16]) ^ binary.LittleEndian.Uint64(w[8:16])
	c := binary.LittleEndian.Uint32(v[16:20]) ^ binary.LittleEndian.Uint32(w[16:20])
	binary.LittleEndian.PutUint64(v[0:8], a)
	binary.LittleEndian.PutUint64(v[8:16], b)
	binary.LittleEndian.PutUint32(v[16:20], c)
}
