// Package xmd is expand_message_xmd (RFC 9380 section 5.3.1) instantiated
// with SHA-512 and a fixed output of 64 bytes: the only shape RiskMesh's
// hash-to-group (RFC 9496's one-way map) and hash-to-scalar need.
//
// circl's expander computes the same bytes (the tests check that on random
// inputs) but allocates about nine times per call; here it runs once per
// identifier on the PSI hot path, where the project requires no per-item
// allocations. With len_in_bytes = 64 = b_in_bytes, ell = 1 and the output is
// b_1 alone, so the whole construction is two SHA-512 calls. The first
// starts with Z_pad, one whole block of zeros, whose compression is the same
// for every message: it is done once, and each call resumes from its state.
package xmd

import (
	"crypto/sha512"
	"encoding"
	"hash"
	"sync"
)

// Size is the output length: 64 bytes, one SHA-512 block of output.
const Size = sha512.Size

// maxDST is RFC 9380's bound on a domain-separation tag's length; longer tags
// are replaced by a hash of themselves (section 5.3.3).
const maxDST = 255

// stackBuf sizes the scratch buffer kept on the stack for b_1's input: b_0,
// one byte and the DST with its length byte.
const stackBuf = Size + 1 + maxDST + 1

// oversizeLabel prefixes the hash of a DST longer than 255 bytes.
const oversizeLabel = "H2C-OVERSIZE-DST-"

// zPadState is SHA-512's marshalled state after absorbing Z_pad (128 zero
// bytes), the prefix of every b_0. Restoring it costs a copy; absorbing the
// block costs a compression, a quarter to a third of an Expand.
var zPadState = func() []byte {
	h := sha512.New()
	h.Write(make([]byte, sha512.BlockSize))
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic("xmd: sha512 state does not marshal: " + err.Error())
	}
	return state
}()

// scratch is one call's SHA-512 state and buffers. A hash.Hash is used
// through its interface, so it and every slice handed to it escape to the
// heap: Expand keeps them in a pool, and allocates nothing. A scratch in the
// pool holds the state after Z_pad and nothing of the last message (some
// messages hold secrets, such as a proof nonce's key).
type scratch struct {
	h   hash.Hash
	buf []byte
	b0  [Size]byte
}

var scratches = sync.Pool{New: func() any {
	s := &scratch{h: sha512.New()}
	s.reset()
	return s
}}

// reset wipes the buffers and restores the state after Z_pad.
func (s *scratch) reset() {
	clear(s.buf)
	clear(s.b0[:])
	// The state comes from the same implementation: it always unmarshals.
	if err := s.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(zPadState); err != nil {
		panic("xmd: sha512 state does not unmarshal: " + err.Error())
	}
}

// Expander expands messages under one domain-separation tag. It holds no
// mutable state, so one Expander is safe for concurrent use.
type Expander struct {
	dstPrime []byte // DST || I2OSP(len(DST), 1)
}

// New returns an Expander for dst, hashing dst first if it is longer than
// 255 bytes, as RFC 9380 section 5.3.3 requires. Tags are the callers'
// constant labels, never input, so an empty one is a programming error and
// New panics on it, as regexp.MustCompile does on a bad pattern.
func New(dst []byte) *Expander {
	if len(dst) == 0 {
		panic("xmd: empty domain-separation tag")
	}
	if len(dst) > maxDST {
		h := sha512.New()
		h.Write([]byte(oversizeLabel))
		h.Write(dst)
		dst = h.Sum(nil)
	}
	dstPrime := make([]byte, 0, len(dst)+1)
	dstPrime = append(append(dstPrime, dst...), byte(len(dst)))
	return &Expander{dstPrime: dstPrime}
}

// Expand writes expand_message_xmd(msg, DST, 64) to out.
func (x *Expander) Expand(out *[Size]byte, msg []byte) {
	s := scratches.Get().(*scratch)
	// b_0 = H(Z_pad || msg || I2OSP(64, 2) || I2OSP(0, 1) || DST_prime),
	// resumed after Z_pad.
	s.buf = append(append(append(s.buf[:0], msg...), 0, Size, 0), x.dstPrime...)
	s.h.Write(s.buf)
	s.h.Sum(s.b0[:0])
	// b_1 = H(b_0 || I2OSP(1, 1) || DST_prime); the output is b_1.
	var stack [stackBuf]byte
	b1 := append(append(append(stack[:0], s.b0[:]...), 1), x.dstPrime...)
	*out = sha512.Sum512(b1)
	clear(b1)
	s.reset()
	scratches.Put(s)
}
