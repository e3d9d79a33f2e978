// Package ristretto holds the ristretto255 (RFC 9496) operations that psi's
// batch paths need on edwards25519 points, the representatives behind
// ristretto255 elements: github.com/gtank/ristretto255 hides an element's
// coordinates, and the cheap ways to encode, decode and hash in bulk need
// them.
//
// RFC 9496 section 4.3.2 encodes one element with an inverse square root,
// an exponentiation per element that nothing batches. Encoding the DOUBLE
// of a point needs an inversion instead, and inversions batch: a batch
// costs one inversion and a few multiplications per point (Montgomery's
// trick). So a caller that computes k·P multiplies by k/2 instead and
// encodes the doubles with DoubleAndEncode: the same elements, byte for
// byte, for about a fifth of the encoding work. Decode and FromUniformBytes
// are RFC 9496's decoding and one-way map, written to produce edwards25519
// points. psi/oprf's evaluator and psi/ecdh's masking, re-masking and proofs
// use them.
//
// Everything here is constant time except Decode's branches on the
// encoding, which is public.
package ristretto
