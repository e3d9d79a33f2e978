package audit

import "testing"

// The forgery cost of an RFC 9497-rule proof falls with the batch size:
// k·2^(252/(1+lg k)) with k the largest power of two up to the count.
func TestForgeryWorkBits(t *testing.T) {
	for _, tc := range []struct {
		count uint32
		want  int
	}{
		{1, 252},   // one item: d·e = 0 only for e = 0
		{3, 127},   // k = 2: 2·2^126
		{4, 86},    // k = 4: 4·2^84
		{1000, 35}, // k = 512: 2^9·2^26
		{4096, 32}, // k = 4096: 2^12·2^20
		{65535, 31},
	} {
		if got := forgeryWorkBits(tc.count); got != tc.want {
			t.Errorf("forgeryWorkBits(%d) = %d, want %d", tc.count, got, tc.want)
		}
	}
}
