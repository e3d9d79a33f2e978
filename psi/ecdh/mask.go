package ecdh

import (
	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"
)

// The per-item work runs on edwards25519 points, the representatives behind
// ristretto255 elements (psi/internal/ristretto): a side multiplies by s/2
// instead of s and encodes the doubles in batches, one field inversion per
// chunkSize points instead of an inverse square root per point. The
// encodings are the same bytes (TestTranscriptGolden).

// mask returns out[k] = H(items[perm[k]])^s for k < len(perm), or
// H(items[k])^s for every item when perm is nil, computed on all cores. Each
// item costs one hash to the group, one constant-time scalar multiplication
// and a batched encoding. If elems is not nil it also receives the masked
// elements (a reconciliation proves over them later without decoding
// again).
func mask(h *hasher, s *ristretto255.Scalar, items Items, perm []int32, elems []edwards25519.Point) ([]Point, error) {
	n := items.Len()
	if perm != nil {
		n = len(perm)
	}
	half := halfScalar(s)
	defer clearScalar(&half)
	out := make([]Point, n)
	err := forChunks(len(out), func(lo, hi int) error {
		var (
			hx     edwards25519.Point
			halves [chunkSize]edwards25519.Point
		)
		for k := lo; k < hi; k++ {
			i := k
			if perm != nil {
				i = int(perm[k])
			}
			item, err := items.Item(i)
			if err != nil {
				return err
			}
			if err := h.hash(&hx, item); err != nil {
				return err
			}
			halves[k-lo].ScalarMult(&half, &hx)
		}
		encodeDoubles(out[lo:hi], halves[:hi-lo])
		if elems != nil {
			for k := lo; k < hi; k++ {
				elems[k].Add(&halves[k-lo], &halves[k-lo])
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// remask returns out[i] = in[i]^s on all cores. It decodes every point, so
// it rejects invalid and identity points even in messages that were built in
// memory rather than parsed; field names the vector in the PointError.
func remask(s *ristretto255.Scalar, in []Point, field string) ([]Point, error) {
	elems := make([]edwards25519.Point, len(in))
	if err := decodePoints(elems, in, field); err != nil {
		return nil, err
	}
	return raise(s, elems), nil
}

// raise returns out[i] = elems[i]^s on all cores, for points already
// decoded (and so validated): a reconciliation decodes a chunk's points
// once, when it parses the chunk. Each point costs one constant-time
// scalar multiplication and a batched encoding.
func raise(s *ristretto255.Scalar, elems []edwards25519.Point) []Point {
	half := halfScalar(s)
	defer clearScalar(&half)
	out := make([]Point, len(elems))
	// The callback never fails.
	_ = forChunks(len(elems), func(lo, hi int) error {
		var halves [chunkSize]edwards25519.Point
		for i := lo; i < hi; i++ {
			halves[i-lo].ScalarMult(&half, &elems[i])
		}
		encodeDoubles(out[lo:hi], halves[:hi-lo])
		return nil
	})
	return out
}

// keys returns the match key of every point, on all cores.
func keys(sid *SessionID, pts []Point) []matchKey {
	out := make([]matchKey, len(pts))
	// The callback never fails.
	_ = forChunks(len(pts), func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			out[i] = sid.key(&pts[i])
		}
		return nil
	})
	return out
}

// keySet builds the lookup set of double-masked points. Honest parties send
// distinct points, so a repeated one is reported rather than merged.
func keySet(sid *SessionID, pts []Point, field string) (map[matchKey]bool, error) {
	set := make(map[matchKey]bool, len(pts))
	for i, k := range keys(sid, pts) {
		if _, dup := set[k]; dup {
			return nil, &PointError{Field: field, Index: i, Err: ErrDuplicatePoint}
		}
		set[k] = false
	}
	return set, nil
}

// firstDuplicate returns the positions of two equal points, or -1, -1. It
// keys on the first 16 bytes of each point: masked points are uniform, so
// distinct ones share them with probability below 2^-84 for MaxSetSize items.
func firstDuplicate(pts []Point) (int, int) {
	seen := make(map[[16]byte]int32, len(pts))
	for i := range pts {
		k := [16]byte(pts[i][:16])
		if j, ok := seen[k]; ok {
			return int(j), i
		}
		seen[k] = int32(i)
	}
	return -1, -1
}
