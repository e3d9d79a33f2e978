package synth

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkSynth measures the steps of preparing a demo's lists: Generate
// (all institutions), writing them as CSV and NDJSON files, both together,
// and drawing a batch. Run with -benchtime=3x: one iteration at 10^6 takes seconds.
func BenchmarkSynth(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		cfg := Config{Seed: 1, Entries: n}
		b.Run("Generate/"+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Generate(cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
		b.Run("GenerateWriteCSV/"+strconv.Itoa(n), func(b *testing.B) {
			dir := b.TempDir()
			b.ReportAllocs()
			for b.Loop() {
				c, err := Generate(cfg)
				if err != nil {
					b.Fatal(err)
				}
				for i, l := range c.Lists {
					if err := writeFile(filepath.Join(dir, strconv.Itoa(i)), l, WriteCSV); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
		c, err := Generate(cfg)
		if err != nil {
			b.Fatal(err)
		}
		for _, w := range []struct {
			name  string
			write func(io.Writer, List) error
		}{{"WriteCSV", WriteCSV}, {"WriteNDJSON", WriteNDJSON}} {
			b.Run(w.name+"/"+strconv.Itoa(n), func(b *testing.B) {
				dir := b.TempDir()
				b.ReportAllocs()
				for b.Loop() {
					for i, l := range c.Lists {
						if err := writeFile(filepath.Join(dir, strconv.Itoa(i)), l, w.write); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			})
		}
		b.Run("Batch/1000/"+strconv.Itoa(n), func(b *testing.B) {
			cfg := BatchConfig{Category: Black, Size: 1000, Hits: 100, MultiHits: 10, OtherCategory: 50, Invalid: 10}
			b.ReportAllocs()
			for b.Loop() {
				cfg.Seed++
				if _, err := c.Batch(cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func writeFile(path string, l List, write func(io.Writer, List) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f, l); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
