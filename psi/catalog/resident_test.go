package catalog

import (
	"errors"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// withBudget sets the resident budget to n until the test ends.
func withBudget(t testing.TB, n int64) {
	SetResidentBudget(n)
	t.Cleanup(func() { SetResidentBudget(0) })
}

// openTest opens path or fails the test.
func openTest(t testing.TB, path string) *Catalog {
	t.Helper()
	c, err := Open(path, DecodeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestReadFromFileMatchesHeap is a property test over catalogs of several
// sizes and both arities: a catalog opened within the resident budget
// (slots read in memory) and one opened beyond it (slots read from the
// file) answer every probe, member, non-member or malformed, exactly as
// the catalog in the heap.
func TestReadFromFileMatchesHeap(t *testing.T) {
	for _, n := range []int{0, 1, 17, 3000, 40_000} {
		c, prfs := buildTest(t, n, uint64(n)+20)
		enc := encode(t, c)
		path := writeFile(t, enc)
		waitReleased(t)
		withBudget(t, int64(len(enc))) // room for one of the two
		resident := openTest(t, path)
		read := openTest(t, path)
		if !resident.mapped.resident.Load() || read.mapped.resident.Load() {
			t.Fatalf("n=%d: resident flags %v and %v, want true and false", n, resident.mapped.resident.Load(), read.mapped.resident.Load())
		}
		probes := append(prfs, testPRFOutputs(uint64(n)+21, 500)...)
		probes = append(probes, nil, make([]byte, MinPRFOutput-1), make([]byte, MaxPRFOutput+1), prfs0(prfs)[:MinPRFOutput])
		for i, p := range probes {
			wl, wok := c.Lookup(p)
			for _, o := range []*Catalog{resident, read} {
				if l, ok := o.Lookup(p); l != wl || ok != wok {
					t.Fatalf("n=%d arity %d probe %d: (%+v, %v), heap (%+v, %v)", n, c.params.Arity, i, l, ok, wl, wok)
				}
			}
		}
		if resident.Err() != nil || read.Err() != nil {
			t.Fatalf("n=%d: read errors %v, %v", n, resident.Err(), read.Err())
		}
	}
}

// prfs0 returns the first PRF output of prfs, or a full-length zero one.
func prfs0(prfs [][]byte) []byte {
	if len(prfs) == 0 {
		return make([]byte, MaxPRFOutput)
	}
	return prfs[0]
}

// TestReadFromFileLeavesNothingResident checks, in the process's own
// memory accounting (/proc/self/smaps), what the budget promises: look-ups
// in a catalog beyond the budget, one by one and in batches (LookupAll,
// through io_uring where available), leave none of its file resident, while
// those in a catalog within it do make its pages resident (so the
// measurement can tell the two apart).
func TestReadFromFileLeavesNothingResident(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/smaps")
	}
	c, prfs := buildTest(t, 100_000, 30)
	enc := encode(t, c)
	for _, v := range []struct {
		budget   int64
		resident bool
	}{{1, false}, {math.MaxInt64, true}} {
		path := writeFile(t, enc)
		withBudget(t, v.budget)
		o := openTest(t, path)
		if got := residentKB(t, path); got != 0 {
			t.Fatalf("budget %d: %d kB resident after Open, want 0", v.budget, got)
		}
		assertMembers(t, o, prfs)
		if !allFound(lookupAll(t, o, prfs)) {
			t.Fatalf("budget %d: LookupAll missed members", v.budget)
		}
		if got := residentKB(t, path); (got > 0) != v.resident {
			t.Fatalf("budget %d: %d kB resident after look-ups, want resident %v", v.budget, got, v.resident)
		}
		runtime.KeepAlive(o)
	}
}

// residentKB returns the resident size of the process's mapping of path,
// from /proc/self/smaps.
func residentKB(t *testing.T, path string) int {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	inFile := false
	for line := range strings.Lines(string(smaps)) {
		fields := strings.Fields(line)
		switch {
		case len(fields) >= 6 && strings.Contains(fields[0], "-"):
			inFile = fields[len(fields)-1] == path
		case inFile && len(fields) == 3 && fields[0] == "Rss:":
			kb, err := strconv.Atoi(fields[1])
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatalf("%s is not mapped", path)
	return 0
}

// TestResidentBudgetAccounting checks that catalogs are read in memory in
// the order they are opened while they fit in the budget, and that a
// released catalog returns its share, which the next look-up in a catalog
// beyond the budget then claims.
func TestResidentBudgetAccounting(t *testing.T) {
	waitReleased(t)
	c, prfs := buildTest(t, 2000, 31)
	enc := encode(t, c)
	size := int64(len(enc))
	budget := 2*size + size/2
	withBudget(t, budget)
	var held []*Catalog
	for i, want := range []bool{true, true, false, false} {
		o := openTest(t, writeFile(t, enc))
		if o.mapped.resident.Load() != want {
			t.Fatalf("catalog %d: resident %v, want %v", i, o.mapped.resident.Load(), want)
		}
		held = append(held, o)
	}
	for _, o := range held {
		assertMembers(t, o, prfs)
	}
	if held[2].mapped.resident.Load() || held[3].mapped.resident.Load() {
		t.Fatal("a catalog beyond the budget was read in memory")
	}
	held[0] = nil
	for residentBytes.Load() > size { // never released: the test times out
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	assertMembers(t, held[2], prfs)
	assertMembers(t, held[3], prfs)
	if !held[2].mapped.resident.Load() || held[3].mapped.resident.Load() || residentBytes.Load() != 2*size {
		t.Fatalf("after a release: resident %v and %v, %d bytes claimed, want true, false and %d",
			held[2].mapped.resident.Load(), held[3].mapped.resident.Load(), residentBytes.Load(), 2*size)
	}
	runtime.KeepAlive(held)
}

// waitReleased collects garbage until no catalog of an earlier test is
// mapped, so that the budget is all free.
func waitReleased(t *testing.T) {
	t.Helper()
	for MappedBytes() > 0 || residentBytes.Load() > 0 { // never released: the test times out
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLookupReportsReadError plays a disk or process that cuts a held
// catalog's file short after it was verified: look-ups that read past the
// end must not pass for misses silently. Err reports the failed read.
func TestLookupReportsReadError(t *testing.T) {
	c, prfs := buildTest(t, 3000, 32)
	enc := encode(t, c)
	path := writeFile(t, enc)
	withBudget(t, 1)
	o := openTest(t, path)
	assertMembers(t, o, prfs)
	if err := o.Err(); err != nil {
		t.Fatalf("Err before the damage: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(len(c.header()))); err != nil {
		t.Fatal(err)
	}
	for i, p := range prfs {
		if _, ok := o.Lookup(p); ok {
			t.Fatalf("member %d found in a file without slots", i)
		}
	}
	if err := o.Err(); !errors.Is(err, io.EOF) {
		t.Fatalf("Err after reading past the end: %v, want io.EOF", err)
	}
}

// TestReplaceWhileLookingUp runs look-ups, under -race, while the catalog
// they use is replaced by newly opened ones, within and beyond the budget
// (which changes meanwhile, so that look-ups claim it), and dropped ones
// are unmapped and closed by the garbage collector: every
// answer must stay right, and no look-up may read a released mapping or
// file (a fault or a wrong answer would show it).
func TestReplaceWhileLookingUp(t *testing.T) {
	c, prfs := buildTest(t, 5000, 33)
	enc := encode(t, c)
	var current atomic.Pointer[Catalog]
	withBudget(t, math.MaxInt64)
	current.Store(openTest(t, writeFile(t, enc)))
	var (
		wg      sync.WaitGroup
		stop    atomic.Bool
		lookups atomic.Int64
	)
	for w := range 4 {
		wg.Go(func() {
			for i := w; !stop.Load(); i = (i + 7) % len(prfs) {
				cat := current.Load()
				if l, ok := cat.Lookup(prfs[i]); !ok || l != testLabel(i) {
					t.Errorf("member %d: (%+v, %v) in a replaced catalog", i, l, ok)
					return
				}
				lookups.Add(1)
			}
		})
	}
	for i := range 20 {
		budget := int64(1) // the next catalog is read from its file
		if i%2 == 0 {
			budget = math.MaxInt64 // it and the others may claim the budget
		}
		SetResidentBudget(budget)
		current.Store(openTest(t, writeFile(t, enc)))
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if lookups.Load() == 0 {
		t.Fatal("no look-up ran")
	}
	if err := current.Load().Err(); err != nil {
		t.Fatal(err)
	}
}
