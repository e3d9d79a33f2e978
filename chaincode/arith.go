package chaincode

import (
	"fmt"
	"math"
)

// Token arithmetic is int64 with explicit overflow checks: an overflow is a
// rejected transaction, never a wrapped balance.

func addTokens(a, b int64) (int64, error) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, newError(CodeInvalidArgument, fmt.Sprintf("token overflow: %d + %d", a, b))
	}
	return a + b, nil
}

func subTokens(a, b int64) (int64, error) {
	if b == math.MinInt64 {
		return 0, newError(CodeInvalidArgument, "token overflow")
	}
	return addTokens(a, -b)
}

// amountFor returns count x price, checked.
func amountFor(price int64, count uint32) (int64, error) {
	if price < 0 {
		return 0, newError(CodeInternal, "negative price")
	}
	if count != 0 && price > math.MaxInt64/int64(count) {
		return 0, newError(CodeInvalidArgument, fmt.Sprintf("amount overflow: %d x %d", count, price))
	}
	return price * int64(count), nil
}
