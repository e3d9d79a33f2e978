package catalog

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

var build10M = flag.Bool("catalog.build10m", false, "run BenchmarkBuild10M (10^7 items, about 1 GB of memory)")

// benchSizes are the catalog sizes of the per-size sub-benchmarks.
var benchSizes = []int{1000, 100_000, 1_000_000}

// BenchmarkBuild measures the provider's whole catalog cost from PRF
// outputs: Add for every item, then Build.
func BenchmarkBuild(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			prfs := testPRFOutputs(1, n)
			b.ReportAllocs()
			for b.Loop() {
				bl, err := NewBuilder(testMeta(), n)
				if err != nil {
					b.Fatal(err)
				}
				for i, p := range prfs {
					if err := bl.Add(p, testLabel(i)); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := bl.Build(testRand(2)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkLookup measures the requester's local look-up of members and of
// non-members (which cost the same: the tag check always runs).
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1000, 1_000_000} {
		c, prfs := buildTest(b, n, 1)
		misses := testPRFOutputs(2, 1024)
		b.Run(fmt.Sprintf("member/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := c.Lookup(prfs[i%n]); !ok {
					b.Fatal("member not found")
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("miss/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := c.Lookup(misses[i%len(misses)]); ok {
					b.Fatal("non-member found")
				}
				i++
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	c, _ := buildTest(b, 1_000_000, 1)
	var buf bytes.Buffer
	buf.Grow(int(c.EncodedLen()))
	b.Run("1000000", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(c.EncodedLen())
		for b.Loop() {
			buf.Reset()
			if _, err := c.Encode(&buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	c, _ := buildTest(b, 1_000_000, 1)
	enc := encode(b, c)
	d := c.Digest()
	b.Run("1000000", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			if _, err := Decode(bytes.NewReader(enc), DecodeConfig{ExpectedDigest: &d}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBuild10M builds one 10^7-item catalog the way a provider node
// would: one goroutine per core adds PRF outputs (generated on the fly, so
// the benchmark does not hold 640 MB of them), then Build. Run it once:
//
//	go test -run '^$' -bench '^BenchmarkBuild10M$' -benchtime 1x -catalog.build10m ./psi/catalog
func BenchmarkBuild10M(b *testing.B) {
	if !*build10M || testing.Short() {
		b.Skip("needs -catalog.build10m and no -short")
	}
	const n = 10_000_000
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		bl, err := NewBuilder(testMeta(), n)
		if err != nil {
			b.Fatal(err)
		}
		workers := runtime.GOMAXPROCS(0)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewChaCha8(seedBytes(uint64(100 + w))))
				var prf [MaxPRFOutput]byte
				for i := w; i < n; i += workers {
					for j := 0; j < len(prf); j += 8 {
						binary.LittleEndian.PutUint64(prf[j:], rng.Uint64())
					}
					if err := bl.Add(prf[:], testLabel(i)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		added := time.Since(start)
		c, err := bl.Build(testRand(3))
		if err != nil {
			b.Fatal(err)
		}
		total := time.Since(start)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(added.Seconds(), "add-s")
		b.ReportMetric((total - added).Seconds(), "build-s")
		b.ReportMetric(float64(n)/total.Seconds(), "items/s")
		b.ReportMetric(float64(c.EncodedLen())/n, "bytes/item")
		b.ReportMetric(float64(ms.Sys)/1e6, "MB-sys")
	}
}
