package catalog

import (
	"crypto/subtle"
	"encoding/binary"

	"github.com/riskmesh/riskmesh/internal/labelhash"
)

// Domain-separation labels. Each hash input starts with one length byte and
// the label (internal/labelhash), so no input under one label can equal an input under another.
// A change to any derivation gets a new label (v2), never a silent change.
const (
	// DomainItemKeys derives, from one PRF output, the item's slot-position
	// hash, its label pad and its tag key: SHA-512(label || prfOutput).
	DomainItemKeys = "riskmesh/v1/catalog/item-keys"
	// DomainTag keys the 32-bit tag over the label ciphertext:
	// SHA-256(label || tagKey || ciphertext), truncated to TagSize bytes.
	DomainTag = "riskmesh/v1/catalog/tag"
	// DomainDigest is the digest of a whole catalog encoding:
	// SHA-256(label || encoding). This digest goes on the ledger.
	DomainDigest = "riskmesh/v1/catalog/digest"
)

// Sizes of an item's stored value: a tag followed by the label ciphertext.
const (
	// TagSize is 4 bytes: a non-member passes the tag check with
	// probability 2^-32.
	TagSize = 4
	// ValueSize is the size of one slot of the retrieval structure.
	ValueSize = TagSize + LabelSize
	// MinPRFOutput and MaxPRFOutput bound the PRF outputs the catalog takes:
	// 32 bytes (P256-SHA256) to 64 bytes (ristretto255-SHA512).
	MinPRFOutput = 32
	MaxPRFOutput = 64
)

const tagKeySize = 32

// itemSecrets is everything derived from one PRF output. Only the holder of
// the PRF output (the provider for its own list, a requester for its own
// identifier after an OPRF query) can compute it.
type itemSecrets struct {
	hash   uint64          // slot-position hash, mixed with the seed at build time
	pad    [LabelSize]byte // one-time pad for the label
	tagKey [tagKeySize]byte
}

// deriveItem splits SHA-512(len || DomainItemKeys || prfOutput) as
// hash = bytes 0..8 (big-endian), pad = bytes 8..24, tagKey = bytes 32..64;
// bytes 24..32 are unused. The caller has checked len(prfOutput).
func deriveItem(prfOutput []byte, s *itemSecrets) {
	sum := labelhash.Sum512(DomainItemKeys, prfOutput)
	s.hash = binary.BigEndian.Uint64(sum[0:8])
	copy(s.pad[:], sum[8:24])
	copy(s.tagKey[:], sum[32:64])
}

// tag computes the first TagSize bytes of
// SHA-256(len || DomainTag || tagKey || ciphertext). The input has a fixed
// length, so the prefix-keyed hash is a PRF here (no length extension).
func (s *itemSecrets) tag(ct *[LabelSize]byte) [TagSize]byte {
	sum := labelhash.Sum(DomainTag, s.tagKey[:], ct[:])
	return [TagSize]byte(sum[:TagSize])
}

// seal returns the stored value tag || (label XOR pad) of an encoded label.
func (s *itemSecrets) seal(plain *[LabelSize]byte) (v [ValueSize]byte) {
	ct := (*[LabelSize]byte)(v[TagSize:])
	subtle.XORBytes(ct[:], plain[:], s.pad[:])
	t := s.tag(ct)
	copy(v[:TagSize], t[:])
	return v
}

// open checks v's tag in constant time and, if it matches, decrypts the
// label into plain. A mismatch means a non-member or a corrupted value.
func (s *itemSecrets) open(v *[ValueSize]byte, plain *[LabelSize]byte) bool {
	ct := (*[LabelSize]byte)(v[TagSize:])
	t := s.tag(ct)
	if subtle.ConstantTimeCompare(t[:], v[:TagSize]) != 1 {
		return false
	}
	subtle.XORBytes(plain[:], ct[:], s.pad[:])
	return true
}

func validPRFOutput(p []byte) bool {
	return len(p) >= MinPRFOutput && len(p) <= MaxPRFOutput
}
