// Package labelhash is the one home of RiskMesh's domain-separated hashes:
// every hash of a RiskMesh encoding starts with a label naming what is
// hashed, so a digest computed for one purpose is never valid for another.
//
// The input is always
//
//	len(label) || label || part_1 || ... || part_n
//
// with len(label) a single byte. Because the label carries its length, no
// label's input is a prefix of another label's, whatever follows. The parts
// are written as they are: each caller's encoding of its parts must be
// self-delimiting (fixed sizes, or length prefixes of its own), which is
// what every caller's doc comment states. The hash is SHA-256 unless the
// caller needs 64 bytes of output (Sum512).
//
// Hashes whose framing is fixed elsewhere (RFC 9497's OPRF in psi/oprf, and
// psi/ecdh's session id and match keys, pinned by its golden vectors) keep
// that framing and do not use this package; docs/protocol.md lists both.
package labelhash

import (
	"crypto/sha256"
	"crypto/sha512"
	"hash"
)

// Size is the length of a Sum.
const Size = sha256.Size

// MaxLabel is the longest label: its length must fit in one byte.
const MaxLabel = 255

// stackInput is the input length Sum and Sum512 hash without allocating;
// every fixed-size use (catalog tags and item keys, digests of digests)
// fits.
const stackInput = 256

// New returns a SHA-256 that has absorbed len(label) || label; the caller
// writes the parts into it. It suits bodies that are streamed (catalog
// slots, transcript elements) and would otherwise be copied.
func New(label string) hash.Hash {
	h := sha256.New()
	h.Write([]byte{labelLen(label)})
	h.Write([]byte(label))
	return h
}

// Sum returns SHA-256(len(label) || label || parts...).
func Sum(label string, parts ...[]byte) [Size]byte {
	var buf [stackInput]byte
	return sha256.Sum256(appendInput(buf[:0], label, parts))
}

// Sum512 returns SHA-512(len(label) || label || parts...), for callers that
// split 64 bytes of output into several keys.
func Sum512(label string, parts ...[]byte) [sha512.Size]byte {
	var buf [stackInput]byte
	return sha512.Sum512(appendInput(buf[:0], label, parts))
}

// appendInput appends the hash input to dst, growing it once if the input
// does not fit.
func appendInput(dst []byte, label string, parts [][]byte) []byte {
	n := 1 + len(label)
	for _, p := range parts {
		n += len(p)
	}
	if n > cap(dst)-len(dst) {
		dst = append(make([]byte, 0, len(dst)+n), dst...)
	}
	dst = append(dst, labelLen(label))
	dst = append(dst, label...)
	for _, p := range parts {
		dst = append(dst, p...)
	}
	return dst
}

// labelLen returns the label's one-byte length. Labels are constants of the
// packages that use them, so a longer one is a programming error that the
// first test run reports.
func labelLen(label string) byte {
	if len(label) > MaxLabel {
		panic("labelhash: label longer than 255 bytes: " + label)
	}
	return byte(len(label))
}
