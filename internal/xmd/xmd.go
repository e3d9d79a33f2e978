// Package xmd is expand_message_xmd (RFC 9380 section 5.3.1) instantiated
// with SHA-512 and a fixed output of 64 bytes: the only shape RiskMesh's
// hash-to-group (RFC 9496's one-way map) and hash-to-scalar need.
//
// circl's expander computes the same bytes (the tests check that on random
// inputs) but allocates about nine times per call; here it runs once per
// identifier on the PSI hot path, where the project requires no per-item
// allocations. With len_in_bytes = 64 = b_in_bytes, ell = 1 and the output is
// b_1 alone, so the whole construction is two SHA-512 calls over a buffer
// that stays on the stack for messages up to a few hundred bytes.
package xmd

import "crypto/sha512"

// Size is the output length: 64 bytes, one SHA-512 block of output.
const Size = sha512.Size

// maxDST is RFC 9380's bound on a domain-separation tag's length; longer tags
// are replaced by a hash of themselves (section 5.3.3).
const maxDST = 255

// stackBuf sizes the scratch buffer kept on the stack: Z_pad (128 bytes),
// the message, three bytes of framing and the DST with its length byte.
// Longer messages still work, with one allocation.
const stackBuf = 640

// oversizeLabel prefixes the hash of a DST longer than 255 bytes.
const oversizeLabel = "H2C-OVERSIZE-DST-"

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
	var stack [stackBuf]byte
	buf := stack[:0]
	// b_0 = H(Z_pad || msg || I2OSP(64, 2) || I2OSP(0, 1) || DST_prime)
	buf = append(buf, make([]byte, sha512.BlockSize)...)
	buf = append(buf, msg...)
	buf = append(buf, 0, Size, 0)
	buf = append(buf, x.dstPrime...)
	b0 := sha512.Sum512(buf)
	// b_1 = H(b_0 || I2OSP(1, 1) || DST_prime); the output is b_1.
	buf = append(append(append(buf[:0], b0[:]...), 1), x.dstPrime...)
	*out = sha512.Sum512(buf)
}
