package bench

import (
	"strings"
	"testing"
)

// statCPU reads utime and stime after the command name, which may hold
// spaces and parentheses, and reads nothing from a line it cannot parse.
func TestStatCPU(t *testing.T) {
	for line, want := range map[string]float64{
		"1234 (riskmesh) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 125 0 0 20 0 9 0 100 0 0": 3.75,
		"1234 (a) b (c)) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 0 0":                     0.10,
		"1234 (riskmesh) S 1 1234":                         0,
		"1234 riskmesh S 1 2 3 4 5 6 7 8 9 10 11 12 13 14": 0,
		"1234 (x) S 1 1 1 0 -1 0 0 0 0 0 x 3 0 0":          0,
	} {
		if got := statCPU(strings.NewReader(line)); got != want {
			t.Errorf("statCPU(%q) = %v, want %v", line, got, want)
		}
	}
}
