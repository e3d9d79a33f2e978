package saturate

import (
	"math"
	"math/big"
	"testing"
)

func TestAddSub(t *testing.T) {
	for _, tt := range []struct {
		name      string
		got, want int64
	}{
		{"add", Add(2, 3), 5},
		{"add up", Add(math.MaxInt64, 1), math.MaxInt64},
		{"add down", Add(math.MinInt64, -1), math.MinInt64},
		{"add extremes", Add(math.MaxInt64, math.MinInt64), -1},
		{"sub", Sub(2, 3), -1},
		{"sub up", Sub(math.MaxInt64, -1), math.MaxInt64},
		{"sub down", Sub(math.MinInt64, 1), math.MinInt64},
		{"sub MinInt64", Sub(0, math.MinInt64), math.MaxInt64},
		{"sub MinInt64 from -1", Sub(-1, math.MinInt64), math.MaxInt64},
		{"sub MaxInt64", Sub(-3, math.MaxInt64), math.MinInt64},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

// FuzzAddSub checks both against exact arithmetic, clamped.
func FuzzAddSub(f *testing.F) {
	for _, seed := range [][2]int64{{0, 0}, {math.MaxInt64, 1}, {math.MinInt64, -1}, {0, math.MinInt64}, {-1, math.MaxInt64}} {
		f.Add(seed[0], seed[1])
	}
	lo, hi := big.NewInt(math.MinInt64), big.NewInt(math.MaxInt64)
	clamp := func(x *big.Int) int64 {
		switch {
		case x.Cmp(lo) < 0:
			return math.MinInt64
		case x.Cmp(hi) > 0:
			return math.MaxInt64
		}
		return x.Int64()
	}
	f.Fuzz(func(t *testing.T, a, b int64) {
		x, y := big.NewInt(a), big.NewInt(b)
		if got, want := Add(a, b), clamp(new(big.Int).Add(x, y)); got != want {
			t.Errorf("Add(%d, %d) = %d, want %d", a, b, got, want)
		}
		if got, want := Sub(a, b), clamp(new(big.Int).Sub(x, y)); got != want {
			t.Errorf("Sub(%d, %d) = %d, want %d", a, b, got, want)
		}
	})
}
