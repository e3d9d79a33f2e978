package catalog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	heldCount   = flag.Int("catalog.held", 0, "run BenchmarkHeldMemory with this many catalogs")
	heldItems   = flag.Int("catalog.helditems", 5_000_000, "items per catalog of BenchmarkHeldMemory")
	heldBatches = flag.Int("catalog.heldbatches", 100, "1,000-output look-up batches per catalog in BenchmarkHeldMemory")
	heldBudget  = flag.Int64("catalog.heldbudget", 0, "resident budget of BenchmarkHeldMemory's mapped mode, bytes (0: the default)")
)

// BenchmarkLookupMapped compares, in one run, the look-up of a catalog in
// the heap (Decode) with the same catalog opened from its file (Open),
// read in memory within the resident budget ("mapped") and read from the
// file beyond it, through io_uring ("uring") and with one pread per slot
// ("pread", as where io_uring is unavailable): one look-up at a time
// (Lookup) and in batches of 1,000 (LookupAll, on one core; ns/op is then
// per batch, ns/lookup per look-up). -count repeats each line in a row;
// to alternate the holdings, run the test binary several times.
func BenchmarkLookupMapped(b *testing.B) {
	const n, batch = 1_000_000, 1000
	c, prfs := buildTest(b, n, 1)
	path := filepath.Join(b.TempDir(), "c.cat")
	if err := os.WriteFile(path, encode(b, c), 0o400); err != nil {
		b.Fatal(err)
	}
	withBudget(b, int64(c.EncodedLen())) // room for one of the two
	mapped := openTest(b, path)
	fromFile := openTest(b, path)
	if !mapped.InMemory() || fromFile.InMemory() {
		b.Fatal("the budget is taken by other catalogs")
	}
	holdings := []struct {
		name    string
		c       *Catalog
		noRings bool
	}{{"heap", c, false}, {"mapped", mapped, false}, {"uring", fromFile, false}, {"pread", fromFile, true}}
	for _, h := range holdings {
		b.Run(fmt.Sprintf("Lookup/%s/%d", h.name, n), func(b *testing.B) {
			if h.noRings {
				withoutRings(b)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := h.c.Lookup(prfs[i%n]); !ok {
					b.Fatal("member not found")
				}
				i++
			}
		})
	}
	answers := make([]Answer, batch)
	for _, h := range holdings {
		b.Run(fmt.Sprintf("LookupAll/%s/%d", h.name, n), func(b *testing.B) {
			if h.noRings {
				withoutRings(b)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i += batch {
				from := i % (n - batch)
				if err := h.c.LookupAll(prfs[from:from+batch], answers); err != nil || !allFound(answers) {
					b.Fatalf("batch at %d: %v or a member not found", from, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/lookup")
		})
	}
}

// BenchmarkHeldMemory measures the memory of a requester holding
// -catalog.held catalogs of -catalog.helditems items and querying them:
// opened and verified, then -catalog.heldbatches rounds of 1,000 look-ups
// in every catalog, each round's look-ups on all cores as
// catalogpsi.Requester.Resolve does them. It reports resident memory split
// into anonymous (heap) and file-backed (mapped pages) as Linux reports it,
// the peak resident set (VmHWM, reset once the catalog files are written,
// so that building them does not count) and the wall time per look-up.
// Modes: "mapped" is Open under -catalog.heldbudget (the default resident
// budget if zero), "mapped-pread" the same without io_uring, "unbounded"
// is Open with no budget (mapped pages stay resident, as before the
// budget), "heap" decodes into the heap. The files are distinct copies of
// one catalog built from generated PRF outputs; the look-ups are of other
// generated outputs (misses, which cost what hits cost). For the issue's
// target, 20 catalogs of 10^7 (4.5 GB of files in the temporary directory):
//
//	go test -run '^$' -bench 'HeldMemory/(mapped|unbounded)' -benchtime 1x -timeout 60m ./psi/catalog -args -catalog.held=20 -catalog.helditems=10000000
func BenchmarkHeldMemory(b *testing.B) {
	if *heldCount <= 0 || runtime.GOOS != "linux" {
		b.Skip("needs -catalog.held and Linux")
	}
	paths, size := writeHeld(b, *heldCount, *heldItems)
	queries := testPRFOutputs(9, *heldBatches*1000)
	mapped := func(p string) (*Catalog, error) { return Open(p, DecodeConfig{}) }
	modes := []struct {
		name    string
		budget  int64
		open    func(string) (*Catalog, error)
		noRings bool
	}{
		{"mapped", *heldBudget, mapped, false},
		{"mapped-pread", *heldBudget, mapped, true},
		{"unbounded", math.MaxInt64, mapped, false},
		{"heap", 0, func(p string) (*Catalog, error) {
			f, err := os.Open(p)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return Decode(bufio.NewReaderSize(f, readChunk), DecodeConfig{})
		}, false},
	}
	for _, mode := range modes {
		b.Run(mode.name, func(b *testing.B) {
			SetResidentBudget(mode.budget)
			defer SetResidentBudget(0)
			if mode.noRings {
				withoutRings(b)
			}
			for b.Loop() {
				waitUnmapped(b)
				debug.FreeOSMemory()
				resetPeak(b)
				report(b, "start")
				held := make([]*Catalog, len(paths))
				for i, p := range paths {
					var err error
					if held[i], err = mode.open(p); err != nil {
						b.Fatal(err)
					}
				}
				debug.FreeOSMemory()
				report(b, "held")
				var spent time.Duration
				for batch := range *heldBatches {
					outputs := queries[batch*1000 : (batch+1)*1000]
					start := time.Now()
					for _, c := range held {
						lookUpAll(b, c, outputs)
					}
					spent += time.Since(start)
					if batch+1 == 1 || batch+1 == 10 || batch+1 == *heldBatches {
						report(b, fmt.Sprintf("after%db", batch+1))
					}
				}
				runtime.KeepAlive(held)
				b.ReportMetric(float64(spent.Nanoseconds())/float64(*heldBatches*1000*len(held)), "ns/lookup")
				b.ReportMetric(float64(size)/1e6, "MB/catalog")
			}
		})
	}
}

// lookUpAll looks every output up in c on all cores, one LookupAll per
// core, as catalogpsi.Requester.Resolve does.
func lookUpAll(b *testing.B, c *Catalog, outputs [][]byte) {
	parts := runtime.GOMAXPROCS(0)
	answers := make([]Answer, len(outputs))
	var wg sync.WaitGroup
	for k := range parts {
		wg.Go(func() {
			from, to := k*len(outputs)/parts, (k+1)*len(outputs)/parts
			if err := c.LookupAll(outputs[from:to], answers[from:to]); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
}

// waitUnmapped collects garbage until no catalog is mapped any more, so
// that a mode's measurement does not count the previous mode's mappings.
func waitUnmapped(b *testing.B) {
	for MappedBytes() > 0 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		if b.Elapsed() > time.Minute {
			b.Fatal("mapped catalogs not released")
		}
	}
}

// resetPeak resets the process's peak resident set size (VmHWM), as
// Linux's /proc/self/clear_refs allows.
func resetPeak(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatal(err)
	}
}

// writeHeld builds one catalog of n items from generated PRF outputs and
// writes it to count files (distinct files, so that their pages are not
// shared), freeing the builder before returning.
func writeHeld(b *testing.B, count, n int) (paths []string, size int) {
	bl, err := NewBuilder(testMeta(), n)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewChaCha8(seedBytes(100)))
	var prf [MaxPRFOutput]byte
	for i := range n {
		for j := 0; j < len(prf); j += 8 {
			binary.LittleEndian.PutUint64(prf[j:], rng.Uint64())
		}
		if err := bl.Add(prf[:], testLabel(i)); err != nil {
			b.Fatal(err)
		}
	}
	c, err := bl.Build(testRand(3))
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := c.Encode(&buf); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	paths = make([]string, count)
	for i := range paths {
		paths[i] = filepath.Join(dir, fmt.Sprintf("%d.cat", i))
		if err := os.WriteFile(paths[i], buf.Bytes(), 0o400); err != nil {
			b.Fatal(err)
		}
	}
	return paths, buf.Len()
}

// report adds the process's resident memory (total, anonymous,
// file-backed and peak, from /proc/self/status) and the Go heap in use, in MB, under stage.
func report(b *testing.B, stage string) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "RssAnon" && name != "RssFile" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(kb/1e3, "MB-"+name+"-"+stage)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/1e6, "MB-heap-"+stage)
}
