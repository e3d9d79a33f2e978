package bench

import (
	"slices"
	"testing"
)

// --quick keeps the sizes the command line set and takes the quick suite's
// for the rest.
func TestUseQuickKeepsSetFlags(t *testing.T) {
	c := Config{Batches: []int{7}, Reps: 5, List: 9}
	c.UseQuick(func(flag string) bool { return flag == "batches" || flag == "reps" })
	q := Quick()
	if !slices.Equal(c.Batches, []int{7}) || c.Reps != 5 {
		t.Errorf("set flags replaced: batches %v, reps %d", c.Batches, c.Reps)
	}
	if c.List != q.List || c.Batch != q.Batch || !slices.Equal(c.Lists, q.Lists) || !slices.Equal(c.Providers, q.Providers) || c.ECDHMaxList != q.ECDHMaxList {
		t.Errorf("unset sizes not the quick suite's: %+v", c)
	}
}

// The wan sweep's inner run gets this run's sizes and seed, and no flag
// for a size left to the default.
func TestWANCommandCarriesTheSizes(t *testing.T) {
	c := Config{Batch: 20, Reps: 2, Seed: 9}
	argv := c.WANCommand("/bin/riskmesh-bench")
	if len(argv) != 8 || argv[0] != "/bin/riskmesh-bench" || argv[1] != "--wan-inner" {
		t.Fatalf("argv %q", argv)
	}
	got := map[string]string{}
	for i := 2; i < len(argv); i += 2 {
		got[argv[i]] = argv[i+1]
	}
	if got["--batch"] != "20" || got["--reps"] != "2" || got["--seed"] != "9" || len(got) != 3 {
		t.Errorf("argv %q", argv)
	}
}
