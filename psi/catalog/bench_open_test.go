package catalog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

var (
	heldCount = flag.Int("catalog.held", 0, "run BenchmarkHeldMemory with this many catalogs")
	heldItems = flag.Int("catalog.helditems", 5_000_000, "items per catalog of BenchmarkHeldMemory")
)

// BenchmarkLookupMapped compares, in one run, the look-up of a catalog in
// the heap (Decode) with the same catalog mapped from its file (Open).
func BenchmarkLookupMapped(b *testing.B) {
	const n = 1_000_000
	c, prfs := buildTest(b, n, 1)
	path := filepath.Join(b.TempDir(), "c.cat")
	if err := os.WriteFile(path, encode(b, c), 0o400); err != nil {
		b.Fatal(err)
	}
	mapped, err := Open(path, DecodeConfig{})
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name string
		c    *Catalog
	}{{"heap", c}, {"mapped", mapped}} {
		b.Run(fmt.Sprintf("%s/%d", v.name, n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := v.c.Lookup(prfs[i%n]); !ok {
					b.Fatal("member not found")
				}
				i++
			}
		})
	}
}

// BenchmarkHeldMemory measures the memory of a requester holding
// -catalog.held catalogs of -catalog.helditems items, mapped (Open) or
// decoded into the heap, before and after lookups: resident memory split
// into anonymous (heap) and file-backed (mapped pages) as Linux reports it.
// Run each mode in its own process so that the other's memory does not
// count:
//
//	go test -run '^$' -bench 'HeldMemory/mapped' -benchtime 1x ./psi/catalog -args -catalog.held=4
func BenchmarkHeldMemory(b *testing.B) {
	if *heldCount <= 0 || runtime.GOOS != "linux" {
		b.Skip("needs -catalog.held and Linux")
	}
	paths, size := writeHeld(b, *heldCount, *heldItems)
	queries := testPRFOutputs(9, 100_000)
	open := map[string]func(string) (*Catalog, error){
		"mapped": func(p string) (*Catalog, error) { return Open(p, DecodeConfig{}) },
		"heap": func(p string) (*Catalog, error) {
			f, err := os.Open(p)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return Decode(bufio.NewReaderSize(f, readChunk), DecodeConfig{})
		},
	}
	for _, mode := range []string{"mapped", "heap"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				debug.FreeOSMemory()
				report(b, "start")
				held := make([]*Catalog, len(paths))
				for i, p := range paths {
					var err error
					if held[i], err = open[mode](p); err != nil {
						b.Fatal(err)
					}
				}
				debug.FreeOSMemory()
				report(b, "held")
				done := 0
				for _, q := range []int{1000, len(queries)} {
					for _, c := range held {
						for _, p := range queries[done:q] {
							c.Lookup(p)
						}
					}
					done = q
					report(b, fmt.Sprintf("after%dq", q))
				}
				runtime.KeepAlive(held)
				b.ReportMetric(float64(size)/1e6, "MB/catalog")
			}
		})
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

// report adds the process's resident memory (total, anonymous, file-backed,
// from /proc/self/status) and the Go heap in use, in MB, under stage.
func report(b *testing.B, stage string) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "RssAnon" && name != "RssFile") {
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
