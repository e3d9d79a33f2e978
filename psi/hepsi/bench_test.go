package hepsi

import (
	"crypto/rand"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/internal/cputime"
)

// benchDB is one database of n random labeled entries under the
// documented parameters, with a batch of 1,024 identifiers, half listed.
type benchDB struct {
	db       *Database
	r        *Requester
	batch    [][]byte
	listed   map[string][]byte
	spare    [][]byte // unlisted items for update benchmarks
	buildCPU time.Duration
	build    time.Duration
	heapMB   float64
}

var benchDBs = map[int]*benchDB{}

func benchSetup(b *testing.B, n int) *benchDB {
	b.Helper()
	if d, ok := benchDBs[n]; ok {
		return d
	}
	d := newBenchDB(b, n)
	benchDBs[n] = d
	return d
}

// flatItems returns n random items of size bytes carved from one buffer,
// so millions of them cost one allocation.
func flatItems(t testing.TB, n, size int) [][]byte {
	t.Helper()
	buf := make([]byte, n*size)
	if _, err := rand.Read(buf); err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = buf[i*size : (i+1)*size : (i+1)*size]
	}
	return out
}

func newBenchDB(b *testing.B, n int) *benchDB {
	b.Helper()
	p, err := ParamsFor(n, 1024, 16)
	if err != nil {
		b.Fatal(err)
	}
	items := flatItems(b, n, MinItemSize)
	labels := flatItems(b, n, 16)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start, cpu := time.Now(), cputime.Self()
	db, err := NewDatabase(p)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Add(items, labels); err != nil {
		b.Fatal(err)
	}
	d := &benchDB{db: db, build: time.Since(start), buildCPU: cputime.Self() - cpu}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	d.heapMB = float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
	if d.r, err = NewRequester(p); err != nil {
		b.Fatal(err)
	}
	d.batch = append(randomItems(b, 512, MinItemSize), items[:512]...)
	d.listed = make(map[string][]byte, 512)
	for i := range 512 {
		d.listed[string(items[i])] = labels[i]
	}
	d.spare = randomItems(b, 64, MinItemSize)
	return d
}

// BenchmarkLabeled measures 16-byte-labeled lists of 10^4, 10^5 and 10^6
// entries queried with 1,024 identifiers: the whole exchange through the
// wire encodings (answers checked against the plain intersection), each
// side's step, and one-entry updates. cpu-s/op is process CPU time, the
// number to read on a shared machine.
func BenchmarkLabeled(b *testing.B) {
	sizes := []int{10_000, 100_000, 1_000_000}
	if testing.Short() {
		sizes = sizes[:1]
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("Provider/Build/%d", n), func(b *testing.B) {
			d := benchSetup(b, n)
			for b.Loop() {
			}
			b.ReportMetric(d.build.Seconds(), "wall-s")
			b.ReportMetric(d.buildCPU.Seconds(), "cpu-s")
			b.ReportMetric(d.heapMB, "MB-heap")
		})
		b.Run(fmt.Sprintf("Exchange/%d", n), func(b *testing.B) { benchExchange(b, benchSetup(b, n), false) })
		b.Run(fmt.Sprintf("ExchangeByKeyDigest/%d", n), func(b *testing.B) { benchExchange(b, benchSetup(b, n), true) })
		b.Run(fmt.Sprintf("ExchangeEncodedLabels/%d", n), func(b *testing.B) {
			d := benchSetup(b, n)
			defer d.encodeLabels(b)()
			benchExchange(b, d, false)
		})
		b.Run(fmt.Sprintf("Provider/Answer/%d", n), func(b *testing.B) {
			d := benchSetup(b, n)
			q, _, err := d.r.Query(nil, d.batch)
			if err != nil {
				b.Fatal(err)
			}
			cpu := cputime.Self()
			for b.Loop() {
				if _, err := d.db.Answer(nil, q); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cputime.Self()-cpu).Seconds()/float64(b.N), "cpu-s/op")
		})
		b.Run(fmt.Sprintf("Provider/AnswerEncodedLabels/%d", n), func(b *testing.B) {
			d := benchSetup(b, n)
			defer d.encodeLabels(b)()
			q, st, err := d.r.Query(nil, d.batch)
			if err != nil {
				b.Fatal(err)
			}
			cpu := cputime.Self()
			for b.Loop() {
				a, err := d.db.Answer(nil, q)
				if err != nil {
					b.Fatal(err)
				}
				res, err := st.Results(a)
				if err != nil {
					b.Fatal(err)
				}
				checkAgainstPlain(b, res, d.batch, d.listed)
			}
			b.ReportMetric((cputime.Self()-cpu).Seconds()/float64(b.N), "cpu-s/op")
		})
		b.Run(fmt.Sprintf("Requester/Query/%d", n), func(b *testing.B) {
			d := benchSetup(b, n)
			cpu := cputime.Self()
			for b.Loop() {
				if _, _, err := d.r.Query(nil, d.batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cputime.Self()-cpu).Seconds()/float64(b.N), "cpu-s/op")
		})
		b.Run(fmt.Sprintf("Provider/AddRemove1/%d", n), func(b *testing.B) {
			d := benchSetup(b, n)
			label := make([]byte, 16)
			i := 0
			cpu := cputime.Self()
			for b.Loop() {
				it := d.spare[i%len(d.spare)]
				i++
				if err := d.db.Add([][]byte{it}, [][]byte{label}); err != nil {
					b.Fatal(err)
				}
				if err := d.db.Remove([][]byte{it}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cputime.Self()-cpu).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// BenchmarkLabeledLarge builds 10^7 and 1.6·10^7 labeled entries and runs
// one 1,024-identifier exchange against each, checked against the plain
// intersection. It takes minutes of CPU and gigabytes, so it runs only with
// RISKMESH_HEPSI_LARGE=1, and should run one size per process so that the
// peak RSS it reports is that size's (docs/benchmarks.md).
func BenchmarkLabeledLarge(b *testing.B) {
	if os.Getenv("RISKMESH_HEPSI_LARGE") == "" {
		b.Skip("set RISKMESH_HEPSI_LARGE=1 to build lists of 10^7 entries and more")
	}
	for _, n := range []int{10_000_000, 16_000_000} {
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			d := newBenchDB(b, n)
			benchExchange(b, d, true)
			// After the loop: its first iteration deletes metrics reported before.
			b.ReportMetric(d.build.Seconds(), "build-wall-s")
			b.ReportMetric(d.buildCPU.Seconds(), "build-cpu-s")
			b.ReportMetric(d.heapMB, "MB-heap")
			b.ReportMetric(float64(len(d.db.rows[0])), "bundles")
			b.ReportMetric(peakRSSMB(), "MB-peak-rss")
		})
	}
}

// BenchmarkAnswerFullBundle measures the answer for one bundle whose
// polynomials have the full degree of each capacity tier: the unit the
// answer's cost grows by (about 3·listSize/(2,048·capacity) bundles a row),
// measurable without building a large list.
func BenchmarkAnswerFullBundle(b *testing.B) {
	for _, tier := range presetTiers {
		b.Run(fmt.Sprintf("Provider/Answer/capacity=%d", tier.capacity), func(b *testing.B) {
			p, err := ParamsFor(1000, 1024, 16)
			if err != nil {
				b.Fatal(err)
			}
			p.BinCapacity, p.PSLow = tier.capacity, tier.low
			s, err := p.scheme()
			if err != nil {
				b.Fatal(err)
			}
			items := itemsInBin(b, s, tier.capacity)
			db, r, _ := listedDB(b, p, items, randomItems(b, len(items), 16))
			q, _, err := r.Query(nil, items[:1])
			if err != nil {
				b.Fatal(err)
			}
			cpu := cputime.Self()
			for b.Loop() {
				if _, err := db.Answer(nil, q); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cputime.Self()-cpu).Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(len(db.rows[0])), "bundles")
		})
	}
}

// encodeLabels switches the shared database to WithEncodedLabels and
// returns the function that switches it back.
func (d *benchDB) encodeLabels(b *testing.B) func() {
	b.Helper()
	d.db.mu.Lock()
	defer d.db.mu.Unlock()
	d.db.encodeLabels = true
	for _, bundles := range d.db.rows {
		for _, bu := range bundles {
			d.db.encodeBundle(bu)
		}
	}
	return func() {
		d.db.mu.Lock()
		defer d.db.mu.Unlock()
		d.db.encodeLabels = false
		for _, bundles := range d.db.rows {
			for _, bu := range bundles {
				bu.encoded = nil
			}
		}
	}
}

// benchExchange runs whole exchanges through the wire encodings and checks
// every result against the plain intersection. With byKey the queries name
// the requester's evaluation key, which the provider's cache holds from an
// earlier query, instead of carrying it.
func benchExchange(b *testing.B, d *benchDB, byKey bool) {
	b.ReportAllocs()
	cache := NewKeyCache(0)
	cache.Add("requester", d.r.EvaluationKey())
	query := d.r.Query
	if byKey {
		query = d.r.QueryByKeyDigest
	}
	var up, down int
	cpu := cputime.Self()
	for b.Loop() {
		q, st, err := query(nil, d.batch)
		if err != nil {
			b.Fatal(err)
		}
		qb, _ := q.MarshalBinary()
		dq, err := DecodeQuery(d.db.Params(), qb)
		if err != nil {
			b.Fatal(err)
		}
		if dq, err = cache.Resolve("requester", dq); err != nil {
			b.Fatal(err)
		}
		a, err := d.db.Answer(nil, dq)
		if err != nil {
			b.Fatal(err)
		}
		ab, err := a.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		da, err := DecodeAnswer(d.db.Params(), ab)
		if err != nil {
			b.Fatal(err)
		}
		res, err := st.Results(da)
		if err != nil {
			b.Fatal(err)
		}
		checkAgainstPlain(b, res, d.batch, d.listed)
		up, down = len(qb), len(ab)
	}
	b.ReportMetric(float64(up), "B-up/op")
	b.ReportMetric(float64(down), "B-down/op")
	b.ReportMetric((cputime.Self()-cpu).Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkQueryDigest is what a provider spends on a live query's bytes
// before it decodes them (a retry found by its digest), under the preset
// parameters for 10^4 entries and 1,024 identifiers: QueryDigest of a query
// naming its key and of one carrying it (1.57 MB more to hash), and the
// size check DecodeEvaluationKey makes before it decodes a key.
func BenchmarkQueryDigest(b *testing.B) {
	p, err := ParamsFor(10_000, 1024, 16)
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewRequester(p)
	if err != nil {
		b.Fatal(err)
	}
	items := randomItems(b, 1024, MinItemSize)
	named, _, err := r.QueryByKeyDigest(nil, items)
	if err != nil {
		b.Fatal(err)
	}
	carrying, _, err := r.Query(nil, items)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		q    *Query
	}{{"NamesKey", named}, {"CarriesKey", carrying}} {
		enc, _ := c.q.MarshalBinary()
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				if _, err := QueryDigest(p, enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	short := []byte{evalKeyVersion}
	b.Run("EvaluationKeySizeCheck", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeEvaluationKey(p, short); err == nil {
				b.Fatal("a one-byte key decoded")
			}
		}
	})
}
