package catalogpsi

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	circl "github.com/cloudflare/circl/oprf"

	"github.com/riskmesh/riskmesh/internal/cputime"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// reportItems adds the metrics every sub-benchmark reports: wall-clock
// throughput and, since cpu0 (the process's CPU time taken just before the
// timed loop), CPU time per item, which stays meaningful when other
// processes share the cores.
func reportItems(b *testing.B, n int, cpu0 time.Duration) {
	items := float64(n) * float64(b.N)
	b.ReportMetric(items/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(float64((cputime.Self()-cpu0).Microseconds())/items, "cpu-µs/item")
}

// BenchmarkQuery measures the whole verified batch query — blind, evaluate
// with one batched proof, verify, finalise and catalog look-up — against a
// 100,000-item catalog, with NewRequester's additive blinding and, at 1,000
// items, multiplicative blinding, and in the same run circl's VOPRF end to
// end on the same 1,000 inputs (without any look-up), the baseline issue A
// compares to.
func BenchmarkQuery(b *testing.B) {
	f := newFixture(b, 100_000)
	r, err := NewRequester("Bank1MSP", f.key.Public(), "black", 7, f.catalog)
	if err != nil {
		b.Fatal(err)
	}
	ev, err := f.provider.Evaluator("black", 7)
	if err != nil {
		b.Fatal(err)
	}
	mult, err := NewRequesterWithBlinding("Bank1MSP", f.key.Public(), "black", 7, f.catalog, oprf.BlindMultiplicative)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{100, 1000, 10000} {
		// Half the batch is listed, half is not: hits and misses cost alike.
		batch := append(phones(1_000_000, n-n/2), f.listed[:n/2]...)
		queryBench(b, fmt.Sprintf("EndToEnd/%d", n), r, ev, batch)
		if n == 1000 {
			queryBench(b, fmt.Sprintf("EndToEndMultiplicative/%d", n), mult, ev, batch)
		}
	}
	const n = 1000
	inputs := make([][]byte, n)
	for i, id := range append(phones(1_000_000, n-n/2), f.listed[:n/2]...) {
		inputs[i] = []byte(id.String())
	}
	csk, err := circl.GenerateKey(circl.SuiteRistretto255, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("CirclVOPRF/EndToEnd/%d", n), func(b *testing.B) {
		server := circl.NewVerifiableServer(circl.SuiteRistretto255, csk)
		client := circl.NewVerifiableClient(circl.SuiteRistretto255, csk.Public())
		b.ReportAllocs()
		cpu0 := cputime.Self()
		for b.Loop() {
			fin, req, err := client.Blind(inputs)
			if err != nil {
				b.Fatal(err)
			}
			eval, err := server.Evaluate(req)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := client.Finalize(fin, eval); err != nil {
				b.Fatal(err)
			}
		}
		reportItems(b, n, cpu0)
	})
}

// queryBench runs the whole verified query of batch through r and ev.
func queryBench(b *testing.B, name string, r *Requester, ev *oprf.Evaluator, batch []ident.ID) {
	b.Run(name, func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cputime.Self()
		for b.Loop() {
			q, evaluated, proof := blindAndEvaluate(b, r, ev, batch)
			if _, err := r.Resolve(q, evaluated, proof); err != nil {
				b.Fatal(err)
			}
		}
		reportItems(b, len(batch), cpu0)
	})
}

// blindAndEvaluate blinds batch for r and has ev evaluate it: a query
// ready for Resolve.
func blindAndEvaluate(b *testing.B, r *Requester, ev *oprf.Evaluator, batch []ident.ID) (q *Query, evaluated, proof []byte) {
	q, blinded, err := r.Blind(rand.Reader, batch)
	if err != nil {
		b.Fatal(err)
	}
	evaluated, p, err := ev.BlindEvaluate(rand.Reader, blinded)
	if err != nil {
		b.Fatal(err)
	}
	return q, evaluated, p[:]
}

// BenchmarkBuildCatalog measures a provider's whole catalog build: full
// OPRF evaluation of every entry plus the catalog construction. The
// 10,000,000-entry size takes minutes and GiBs, so it runs only with
// RISKMESH_BENCH_LARGE=1 (use -benchtime=1x).
func BenchmarkBuildCatalog(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if os.Getenv("RISKMESH_BENCH_LARGE") == "1" {
		sizes = append(sizes, 10_000_000)
	}
	f := newFixture(b, 10)
	for _, n := range sizes {
		entries := syntheticList(n)
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var bytesPerItem float64
			cpu0 := cputime.Self()
			for b.Loop() {
				cat, err := f.provider.BuildCatalog(context.Background(), rand.Reader, "black", 7, entries, n, nil)
				if err != nil {
					b.Fatal(err)
				}
				bytesPerItem = float64(cat.EncodedLen()) / float64(n)
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			reportItems(b, n, cpu0)
			b.ReportMetric(bytesPerItem, "bytes/item")
			b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-MiB")
		})
	}
}

// syntheticList yields n listed phone identifiers as they are read, as a
// list source streams them, so a 10^7 list never sits in memory twice.
func syntheticList(n int) iter.Seq[Entry] {
	return func(yield func(Entry) bool) {
		for i := range n {
			id := ident.ID{Type: ident.Type("phone"), Value: fmt.Sprintf("+86138%08d", i)}
			if !yield(Entry{ID: id, Label: labelFor(i)}) {
				return
			}
		}
	}
}

var resolveItems = flag.Int("catalogpsi.resolveitems", 1_000_000, "catalog size of BenchmarkResolveHeld")

// BenchmarkResolveHeld times Resolve (verify, finalise, look up) of
// 1,000-identifier batches against one catalog of -catalogpsi.resolveitems
// items held three ways: decoded into the heap, opened within the resident
// budget (read in memory) and opened beyond it ("disk": the slots read
// from the file, in io_uring batches where the system allows it,
// catalog.SetResidentBudget). Each iteration resolves one fresh batch
// with each, in turn, so that the three see the same load, and times the
// look-ups alone too, on other outputs, with the process's minor and major
// page faults meanwhile (Linux), after 10,000 untimed look-ups in each (the
// first touches of a mapping fault). The catalog's items are
// generated PRF outputs under the fixture's metadata, so that building it
// costs no OPRF evaluation; the batch's identifiers are not in it, and
// misses cost what hits cost. Blinding and evaluation are not timed. For a
// 10^7-item catalog:
//
//	go test -run '^$' -bench 'ResolveHeld' -benchtime 40x -timeout 60m ./psi/catalogpsi -args -catalogpsi.resolveitems=10000000
func BenchmarkResolveHeld(b *testing.B) {
	key, err := oprf.GenerateKey(seeded(1))
	if err != nil {
		b.Fatal(err)
	}
	path, size := writeGeneratedCatalog(b, key.Public(), *resolveItems)
	catalog.SetResidentBudget(size) // room for one of the two opened below
	defer catalog.SetResidentBudget(0)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	heap, err := catalog.Decode(bufio.NewReaderSize(f, 1<<20), catalog.DecodeConfig{})
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	ev, err := NewProvider("Bank1MSP", key).Evaluator("black", 7)
	if err != nil {
		b.Fatal(err)
	}
	modes := []struct {
		name             string
		r                *Requester
		resolve, lookUps time.Duration
		minor, major     int
	}{
		{name: "heap", r: requesterFor(b, key, heap)},
		{name: "mapped", r: requesterFor(b, key, openTest(b, path))},
		{name: "disk", r: requesterFor(b, key, openTest(b, path))},
	}
	if !modes[1].r.catalog.InMemory() || modes[2].r.catalog.InMemory() {
		b.Fatal("the resident budget is taken by other catalogs")
	}
	batch := phones(1_000_000, 1000)
	results := make([]Result, len(batch))
	warm := make([][oprf.OutputSize]byte, 10_000)
	for i := range warm {
		warm[i][0], warm[i][1] = byte(i), byte(i>>8)
	}
	for _, m := range modes { // the first touches of a mapping are not the steady state
		if err := m.r.lookUp(make([]Result, len(warm)), warm); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		for i := range modes {
			m := &modes[i]
			q, evaluated, proof := blindAndEvaluate(b, m.r, ev, batch)
			outputs, err := m.r.client.Finalize(q.state, evaluated, proof)
			if err != nil {
				b.Fatal(err)
			}
			minor, major := pageFaults(b)
			start := time.Now()
			if err := m.r.lookUp(results, outputs); err != nil {
				b.Fatal(err)
			}
			m.lookUps += time.Since(start)
			minor2, major2 := pageFaults(b)
			m.minor, m.major = m.minor+minor2-minor, m.major+major2-major
			q, evaluated, proof = blindAndEvaluate(b, m.r, ev, batch)
			start = time.Now()
			if _, err := m.r.Resolve(q, evaluated, proof); err != nil {
				b.Fatal(err)
			}
			m.resolve += time.Since(start)
		}
	}
	for _, m := range modes {
		b.ReportMetric(float64(m.resolve.Microseconds())/1e3/float64(b.N), "ms/resolve-"+m.name)
		b.ReportMetric(float64(m.lookUps.Microseconds())/1e3/float64(b.N), "ms/lookups-"+m.name)
		b.ReportMetric(float64(m.minor)/float64(b.N), "minflt/lookups-"+m.name)
		b.ReportMetric(float64(m.major)/float64(b.N), "majflt/lookups-"+m.name)
	}
}

// writeGeneratedCatalog writes a catalog of n generated PRF outputs under
// the metadata a requester of the fixture's provider expects, and returns
// its path and size.
func writeGeneratedCatalog(b *testing.B, pub *oprf.PublicKey, n int) (string, int64) {
	bl, err := catalog.NewBuilder(catalog.Meta{
		Suite: Suite, Provider: "Bank1MSP", Category: "black", Period: 7, KeyID: pub.KeyID(),
	}, n)
	if err != nil {
		b.Fatal(err)
	}
	rng := seeded(5)
	prf := make([]byte, oprf.OutputSize)
	for i := range n {
		for j := 0; j < len(prf); j += 8 {
			binary.LittleEndian.PutUint64(prf[j:], rng.Uint64())
		}
		if err := bl.Add(prf, labelFor(i)); err != nil {
			b.Fatal(err)
		}
	}
	cat, err := bl.Build(seeded(6))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "c.cat")
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(out, 1<<20)
	if _, err := cat.Encode(w); err != nil {
		b.Fatal(err)
	}
	if err := errors.Join(w.Flush(), out.Close()); err != nil {
		b.Fatal(err)
	}
	return path, cat.EncodedLen()
}

// pageFaults returns the process's minor and major page faults so far,
// from /proc/self/stat, or zeros where there is none.
func pageFaults(b *testing.B) (minor, major int) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0
	}
	// The fields after the parenthesised command name: minflt is the
	// eighth, majflt the tenth.
	_, rest, _ := strings.Cut(string(stat), ") ")
	fields := strings.Fields(rest)
	if len(fields) < 10 {
		b.Fatalf("/proc/self/stat: %d fields", len(fields))
	}
	minor, err1 := strconv.Atoi(fields[7])
	major, err2 := strconv.Atoi(fields[9])
	if err := errors.Join(err1, err2); err != nil {
		b.Fatal(err)
	}
	return minor, major
}

// requesterFor returns the fixture provider's requester for cat.
func requesterFor(b *testing.B, key *oprf.PrivateKey, cat *catalog.Catalog) *Requester {
	r, err := NewRequester("Bank1MSP", key.Public(), "black", 7, cat)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// openTest opens path or fails the benchmark.
func openTest(b *testing.B, path string) *catalog.Catalog {
	c, err := catalog.Open(path, catalog.DecodeConfig{})
	if err != nil {
		b.Fatal(err)
	}
	return c
}
