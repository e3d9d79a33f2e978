package seal_test

import (
	"fmt"
	"io"
	"testing"
)

// BenchmarkRecord measures sealing and opening one record of the sizes the
// node stores: a list entry (key and label, ~60 bytes), a query record
// (~1 KiB) and a catalog-sized value (64 KiB).
func BenchmarkRecord(b *testing.B) {
	k, _ := newKeyring(b, "bench")
	for _, size := range []int{64, 1 << 10, 64 << 10} {
		msg := make([]byte, size)
		sealed, err := k.Seal("bench", msg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("Seal/%d", size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := k.Seal("bench", msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Open/%d", size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := k.Open("bench", sealed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStream measures sealing a backup-sized stream (16 MiB).
func BenchmarkStream(b *testing.B) {
	k, _ := newKeyring(b, "bench")
	msg := make([]byte, 16<<20)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		w, err := k.NewWriter(io.Discard, "backup")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(msg); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
