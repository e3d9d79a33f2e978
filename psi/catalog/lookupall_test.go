package catalog

import (
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/riskmesh/riskmesh/psi/catalog/internal/uring"
)

// withoutRings makes catalogs read from their files read each slot with
// pread, as where io_uring is unavailable, until the test ends.
func withoutRings(t testing.TB) {
	rings.off.Store(true)
	t.Cleanup(func() { rings.off.Store(false) })
}

// ringsAvailable reports whether this system lets the process use io_uring.
func ringsAvailable(t testing.TB) bool {
	r, err := uring.New(1, ValueSize)
	if err != nil {
		return false
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return true
}

// lookupAll returns LookupAll's answers to probes, failing the test on an
// error.
func lookupAll(t testing.TB, c *Catalog, probes [][]byte) []Answer {
	t.Helper()
	answers := make([]Answer, len(probes))
	if err := c.LookupAll(probes, answers); err != nil {
		t.Fatal(err)
	}
	return answers
}

// TestLookupAllMatchesHeap is a property test over catalogs of several
// sizes and both arities, each held four ways (in the heap, opened within
// the resident budget, opened beyond it and read through io_uring, and
// beyond it read with pread): random batches of members, non-members and
// malformed PRF outputs, some longer than one batch of slot reads, are
// answered by LookupAll exactly as Lookup answers them in the heap copy,
// and so is every probe alone by Lookup.
func TestLookupAllMatchesHeap(t *testing.T) {
	arities := map[uint8]bool{}
	rng := rand.New(rand.NewPCG(40, 41))
	for _, n := range []int{0, 1, 17, 440, 3000, 40_000} {
		c, prfs := buildTest(t, n, uint64(n)+40)
		arities[c.params.Arity] = true
		enc := encode(t, c)
		path := writeFile(t, enc)
		waitReleased(t)
		withBudget(t, int64(len(enc))) // room for one of the two
		resident, fromFile := openTest(t, path), openTest(t, path)
		if !resident.InMemory() || fromFile.InMemory() {
			t.Fatalf("n=%d: in memory %v and %v, want true and false", n, resident.InMemory(), fromFile.InMemory())
		}
		others := testPRFOutputs(uint64(n)+42, 2000)
		malformed := [][]byte{nil, make([]byte, MinPRFOutput-1), make([]byte, MaxPRFOutput+1), prfs0(prfs)[:MinPRFOutput]}
		for batch := range 12 {
			probes := make([][]byte, rng.IntN(1500))
			for i := range probes {
				switch k := rng.IntN(10); {
				case k < 6 && n > 0:
					probes[i] = prfs[rng.IntN(n)]
				case k < 9:
					probes[i] = others[rng.IntN(len(others))]
				default:
					probes[i] = malformed[rng.IntN(len(malformed))]
				}
			}
			want := make([]Answer, len(probes))
			for i, p := range probes {
				want[i].Label, want[i].Found = c.Lookup(p)
			}
			for _, v := range []struct {
				name    string
				c       *Catalog
				noRings bool
			}{{"heap", c, false}, {"resident", resident, false}, {"io_uring", fromFile, false}, {"pread", fromFile, true}} {
				if v.noRings {
					rings.off.Store(true)
				}
				got := lookupAll(t, v.c, probes)
				for i, p := range probes {
					if got[i] != want[i] {
						t.Fatalf("n=%d arity %d batch %d, %s: probe %d answered %+v, heap %+v", n, c.params.Arity, batch, v.name, i, got[i], want[i])
					}
					if l, ok := v.c.Lookup(p); l != want[i].Label || ok != want[i].Found {
						t.Fatalf("n=%d batch %d, %s: Lookup of probe %d (%+v, %v), heap %+v", n, batch, v.name, i, l, ok, want[i])
					}
				}
				rings.off.Store(false)
			}
		}
		if resident.Err() != nil || fromFile.Err() != nil {
			t.Fatalf("n=%d: read errors %v, %v", n, resident.Err(), fromFile.Err())
		}
	}
	if !arities[3] || !arities[4] {
		t.Fatalf("arities covered: %v", arities)
	}
	if ringsAvailable(t) && rings.made.Load() == 0 {
		t.Fatal("io_uring is available but no look-up used it")
	}
}

// TestLookupAllReportsReadError plays a held catalog's file cut short after
// it was verified, read through io_uring and with pread: LookupAll must
// return the failed read, never answer misses instead, and Err must keep
// it.
func TestLookupAllReportsReadError(t *testing.T) {
	c, prfs := buildTest(t, 3000, 43)
	enc := encode(t, c)
	for _, noRings := range []bool{false, true} {
		if noRings {
			withoutRings(t)
		}
		path := writeFile(t, enc)
		withBudget(t, 1)
		o := openTest(t, path)
		if got := lookupAll(t, o, prfs); !allFound(got) {
			t.Fatalf("pread %v: members missed before the damage", noRings)
		}
		if err := os.Chmod(path, 0o600); err != nil {
			t.Fatal(err)
		}
		// Half the slots stay readable: some batches of reads succeed.
		if err := os.Truncate(path, int64(len(enc)/2)); err != nil {
			t.Fatal(err)
		}
		err := o.LookupAll(prfs, make([]Answer, len(prfs)))
		if !errors.Is(err, io.EOF) {
			t.Fatalf("pread %v: LookupAll after the damage: %v, want io.EOF", noRings, err)
		}
		if !errors.Is(o.Err(), io.EOF) {
			t.Fatalf("pread %v: Err %v, want io.EOF", noRings, o.Err())
		}
	}
}

// allFound reports whether every answer is a member's.
func allFound(answers []Answer) bool {
	for _, a := range answers {
		if !a.Found {
			return false
		}
	}
	return true
}

// TestLookupAllAnswersLength checks that answers of another length than
// the PRF outputs are refused, not half written.
func TestLookupAllAnswersLength(t *testing.T) {
	c, prfs := buildTest(t, 100, 44)
	for _, n := range []int{0, 99, 101} {
		if err := c.LookupAll(prfs, make([]Answer, n)); !errors.Is(err, ErrAnswers) {
			t.Fatalf("%d answers for 100: %v, want ErrAnswers", n, err)
		}
	}
}
