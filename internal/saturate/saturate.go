// Package saturate is int64 addition and subtraction that clamp to the
// int64 range instead of wrapping. They compute token figures that are
// reported or compared, never stored: an exposure's headroom on the ledger
// (chaincode) and at a provider (node/provider). Where an overflow must
// refuse the operation instead, as for a balance, check it explicitly.
package saturate

import "math"

// Add returns a + b, clamped to [math.MinInt64, math.MaxInt64].
func Add(a, b int64) int64 {
	s := a + b
	switch {
	case b > 0 && s < a:
		return math.MaxInt64
	case b < 0 && s > a:
		return math.MinInt64
	}
	return s
}

// Sub returns a - b, clamped to [math.MinInt64, math.MaxInt64].
func Sub(a, b int64) int64 {
	d := a - b
	switch {
	case b > 0 && d > a:
		return math.MinInt64
	case b < 0 && d < a:
		return math.MaxInt64
	}
	return d
}
