package ristretto

import "filippo.io/edwards25519/field"

// Field constants of RFC 9496 section 4.1, derived with the field
// library's own operations (TestFieldConstants checks them against the
// RFC's decimal values).
var (
	feZero = new(field.Element)
	feOne  = new(field.Element).One()
	// feD is the curve constant d = -121665/121666.
	feD = func() *field.Element {
		num, den := fieldUint(121665), fieldUint(121666)
		num.Negate(num)
		return num.Multiply(num, den.Invert(den))
	}()
	// feSqrtM1 is the non-negative square root of -1.
	feSqrtM1 = func() *field.Element {
		r, _ := new(field.Element).SqrtRatio(new(field.Element).Negate(feOne), feOne)
		return r
	}()
	// feInvSqrtAMinusD is 1/sqrt(a - d), a = -1, non-negative.
	feInvSqrtAMinusD = func() *field.Element {
		aMinusD := new(field.Element).Negate(feOne)
		aMinusD.Subtract(aMinusD, feD)
		r, _ := new(field.Element).SqrtRatio(feOne, aMinusD)
		return r
	}()
	// feSqrtADMinusOne is sqrt(a·d - 1), the NEGATIVE (odd) root as the
	// RFC's decimal value has it.
	feSqrtADMinusOne = func() *field.Element {
		adMinusOne := new(field.Element).Negate(feD)
		adMinusOne.Subtract(adMinusOne, feOne)
		r, _ := new(field.Element).SqrtRatio(adMinusOne, feOne)
		return r.Negate(r)
	}()
	// feOneMinusDSq is 1 - d².
	feOneMinusDSq = func() *field.Element {
		r := new(field.Element).Square(feD)
		return r.Subtract(feOne, r)
	}()
	// feDMinusOneSq is (d - 1)².
	feDMinusOneSq = func() *field.Element {
		r := new(field.Element).Subtract(feD, feOne)
		return r.Square(r)
	}()
)

// fieldUint returns the field element x.
func fieldUint(x uint32) *field.Element {
	return new(field.Element).Mult32(feOne, x)
}
