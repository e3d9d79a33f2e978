package ecsig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"math/big"

	"filippo.io/nistec"
)

// tableWindow is the width in bits of the scalar windows of a
// PrecomputedKey's table: 43 windows of 63 multiples each (about 2,700
// points, 260 KB), built with that many point additions. Wider windows
// save few additions per verification for a table that costs far more to
// build (8 bits: 32 additions, 8,160 points).
const tableWindow = 6

var tableRows = (256 + tableWindow - 1) / tableWindow

// PrecomputedKey verifies many signatures under one public key faster than
// VerifyKey: it holds every multiple j·2^(6i)·Q of the key Q (1 ≤ j < 64)
// that a 256-bit scalar can pick, so the variable-base multiplication of
// each verification, about three quarters of its cost, becomes 43 point
// additions. Building the table costs about as much as 35 verifications
// save, so it pays for a key that verifies many signatures, such as a
// requester's over a Record batch.
//
// Verify accepts exactly what VerifyKey accepts: the same strict DER and
// low-S parse, the same range checks and the equation of FIPS 186-5,
// section 6.4.2. It is variable-time, which verification may be: every
// input is public.
type PrecomputedKey struct {
	table []nistec.P256Point // row i, multiple j at i<<tableWindow + j; j = 0 unused
}

var p256N = elliptic.P256().Params().N

// Precompute builds key's table. key must be a P-256 key (as ParsePublicKey
// returns).
func Precompute(key *ecdsa.PublicKey) (*PrecomputedKey, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, ErrPublicKey
	}
	enc, err := key.Bytes()
	if err != nil {
		return nil, ErrPublicKey
	}
	base, err := nistec.NewP256Point().SetBytes(enc)
	if err != nil {
		return nil, ErrPublicKey
	}
	const row = 1 << tableWindow
	k := &PrecomputedKey{table: make([]nistec.P256Point, tableRows*row)}
	for i := range tableRows {
		r := k.table[i*row : (i+1)*row]
		r[1].Set(base)
		for j := 2; j < row; j++ {
			r[j].Add(&r[j-1], base)
		}
		for range tableWindow {
			base.Double(base)
		}
	}
	return k, nil
}

// Verify checks a DER low-S signature over digest, as VerifyKey does.
func (k *PrecomputedKey) Verify(digest, sig []byte) error {
	rb, s, err := parseSignature(digest, sig)
	if err != nil {
		return err
	}
	r := new(big.Int).SetBytes(rb)
	if r.Sign() == 0 || r.Cmp(p256N) >= 0 {
		return ErrBadSignature
	}
	// s is in [1, n/2] (parseSignature), so it has an inverse.
	w := new(big.Int).ModInverse(s, p256N)
	u1 := new(big.Int).SetBytes(digest) // a 32-byte digest is P-256's whole hash input
	u1.Mul(u1, w).Mod(u1, p256N)
	u2 := w.Mul(r, w).Mod(w, p256N)
	var u1b, u2b [32]byte
	p, err := nistec.NewP256Point().ScalarBaseMult(u1.FillBytes(u1b[:]))
	if err != nil {
		return ErrBadSignature
	}
	p.Add(p, k.mul(u2.FillBytes(u2b[:])))
	x, err := p.BytesX() // fails on the point at infinity
	if err != nil {
		return ErrBadSignature
	}
	if new(big.Int).SetBytes(x).Mod(new(big.Int).SetBytes(x), p256N).Cmp(r) != 0 {
		return ErrBadSignature
	}
	return nil
}

// mul returns scalar·Q for a 32-byte big-endian scalar, one table
// addition per non-zero window.
func (k *PrecomputedKey) mul(scalar []byte) *nistec.P256Point {
	const row = 1 << tableWindow
	acc := nistec.NewP256Point()
	for i := range tableRows {
		if j := window(scalar, i*tableWindow); j != 0 {
			acc.Add(acc, &k.table[i*row+j])
		}
	}
	return acc
}

// window returns the tableWindow bits of a 32-byte big-endian scalar that
// start at bit (counted from the least significant); bits past 255 are 0.
func window(scalar []byte, bit int) int {
	v := 0
	for b := range tableWindow {
		if n := bit + b; n < 256 {
			v |= int(scalar[31-n/8]>>(n%8)&1) << b
		}
	}
	return v
}
