package hepsi

import (
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
)

// Domain-separation labels, versioned with the protocol.
const (
	itemDomain  = "riskmesh/hepsi/v1/item\x00"
	labelDomain = "riskmesh/hepsi/v1/label\x00"
)

// expanded is what both sides derive from one PRF output: its HashCount
// candidate bins and its ItemLimbs field elements.
type expanded struct {
	bins  [maxHashes]int
	limbs []uint64
}

// expand hashes a PRF output under itemDomain: the first 8·HashCount bytes
// pick the bins, the next ItemLimbs·feltBits bits are the limbs. PRF
// outputs are already uniform; the hash only separates the two uses.
func (s *scheme) expand(item []byte, limbs []uint64) expanded {
	h := sha512.New()
	h.Write([]byte(itemDomain))
	h.Write(item)
	var sum [sha512.Size]byte
	h.Sum(sum[:0])
	var e expanded
	for i := 0; i < s.p.HashCount; i++ {
		e.bins[i] = int(binary.BigEndian.Uint64(sum[8*i:]) % uint64(s.tableSize))
	}
	readBits(sum[8*s.p.HashCount:], limbs, s.feltBits)
	e.limbs = limbs
	return e
}

// readBits splits src into len(out) big-endian fields of width bits each.
func readBits(src []byte, out []uint64, width int) {
	pos := 0
	for i := range out {
		var v uint64
		for k := 0; k < width; k++ {
			bit := (src[pos/8] >> (7 - pos%8)) & 1
			v = v<<1 | uint64(bit)
			pos++
		}
		out[i] = v
	}
}

// writeBits is readBits' inverse: it packs the fields into dst.
func writeBits(dst []byte, in []uint64, width int) {
	clear(dst)
	pos := 0
	for _, v := range in {
		for k := width - 1; k >= 0; k-- {
			if pos/8 >= len(dst) {
				return
			}
			dst[pos/8] |= byte((v>>k)&1) << (7 - pos%8)
			pos++
		}
	}
}

// labelMask is the keystream that masks a label in the provider's
// database: a requester can remove it only for an item it holds the PRF
// output of, so a label polynomial evaluated at a non-member is a mix of
// masked labels that tells it nothing.
func labelMask(item []byte, size int) []byte {
	h := sha512.New()
	h.Write([]byte(labelDomain))
	h.Write(item)
	return h.Sum(nil)[:size]
}

// labelFelts masks a label and splits it into labelParts × ItemLimbs slot
// values, part-major.
func (s *scheme) labelFelts(item, label []byte, out []uint64) {
	mask := labelMask(item, len(label))
	buf := make([]byte, (len(out)*s.feltBits+7)/8)
	for i := range label {
		buf[i] = label[i] ^ mask[i]
	}
	readBits(buf, out, s.feltBits)
}

// labelBytes reverses labelFelts.
func (s *scheme) labelBytes(item []byte, felts []uint64) []byte {
	buf := make([]byte, (len(felts)*s.feltBits+7)/8)
	writeBits(buf, felts, s.feltBits)
	label := buf[:s.p.LabelSize]
	mask := labelMask(item, len(label))
	for i := range label {
		label[i] ^= mask[i]
	}
	return label
}

// maxEvictions bounds the cuckoo random walk; docs/protocol/hepsi.md gives
// the failure rate it yields at the parameters' loads.
const maxEvictions = 1000

// cuckoo places every item in one of its candidate bins, at most one item a
// bin, and returns for each bin the index of its item or -1.
func (s *scheme) cuckoo(items []expanded, rnd io.Reader) ([]int, error) {
	var seed [32]byte
	if _, err := io.ReadFull(rnd, seed[:]); err != nil {
		return nil, fmt.Errorf("hepsi: read randomness: %w", err)
	}
	walk := rand.New(rand.NewChaCha8(seed))
	table := make([]int, s.tableSize)
	for i := range table {
		table[i] = -1
	}
	for i := range items {
		cur := i
		placed := false
		for step := 0; step <= maxEvictions && !placed; step++ {
			e := &items[cur]
			for h := 0; h < s.p.HashCount; h++ {
				if table[e.bins[h]] < 0 {
					table[e.bins[h]] = cur
					placed = true
					break
				}
			}
			if !placed {
				b := e.bins[walk.IntN(s.p.HashCount)]
				table[b], cur = cur, table[b]
			}
		}
		if !placed {
			return nil, ErrCuckoo
		}
	}
	return table, nil
}
