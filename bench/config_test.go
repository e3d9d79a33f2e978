package bench

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// --quick keeps the sizes the command line set and takes the quick suite's
// for the rest.
func TestUseQuickKeepsSetFlags(t *testing.T) {
	c := Config{Batches: []int{7}, Reps: 5, List: 9}
	c.UsePreset(Quick(), func(flag string) bool { return flag == "batches" || flag == "reps" })
	q := Quick()
	if !slices.Equal(c.Batches, []int{7}) || c.Reps != 5 {
		t.Errorf("set flags replaced: batches %v, reps %d", c.Batches, c.Reps)
	}
	if c.List != q.List || c.Batch != q.Batch || !slices.Equal(c.Lists, q.Lists) || !slices.Equal(c.Providers, q.Providers) || c.ECDHMaxList != q.ECDHMaxList {
		t.Errorf("unset sizes not the quick suite's: %+v", c)
	}
	if c.LoadWait >= 0 {
		t.Errorf("--quick waits for the machine to quieten (%v): CI runs on busy machines", c.LoadWait)
	}
}

// --docs is the full suite without its largest batch: every other field
// keeps the full suite's default, and a size the command line set stays.
func TestUseDocs(t *testing.T) {
	c := Config{Reps: 4}
	c.UsePreset(Docs(), func(string) bool { return false })
	full, _ := Config{}.withDefaults()
	docs, err := c.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(docs.Batches, []int{1, 10, 100, 1000, 10_000}) || docs.Reps != 4 {
		t.Errorf("docs preset: batches %v, reps %d", docs.Batches, docs.Reps)
	}
	docs.Batches, docs.Reps = full.Batches, full.Reps
	docs.Logger, full.Logger, docs.LoadSource, full.LoadSource = nil, nil, nil, nil
	if !reflect.DeepEqual(docs, full) {
		t.Errorf("docs preset differs from the full suite beyond its batches:\n%+v\n%+v", docs, full)
	}
	c = Config{Batches: []int{3}}
	c.UsePreset(Docs(), func(flag string) bool { return flag == "batches" })
	if !slices.Equal(c.Batches, []int{3}) {
		t.Errorf("--batches replaced: %v", c.Batches)
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
	// The load check goes with them, as the command line spells it.
	c = Config{MaxLoad: -1, LoadWait: -1, RefuseLoaded: true}
	argv = c.WANCommand("rb")
	if !slices.Equal(argv, []string{"rb", "--wan-inner", "--max-load", "0", "--load-wait", "0s", "--refuse-loaded"}) {
		t.Errorf("argv %q", argv)
	}
	c = Config{MaxLoad: 0.5, LoadWait: time.Second}
	if argv = c.WANCommand("rb"); !slices.Equal(argv[2:], []string{"--max-load", "0.5", "--load-wait", "1s"}) {
		t.Errorf("argv %q", argv)
	}
}
