package transcript

import (
	"fmt"
	"testing"
)

func BenchmarkTranscript(b *testing.B) {
	for _, n := range []int{1000, MaxItems} {
		h, req, resp := testExchange(b, ProtocolCatalogOPRF, n, 0)
		tr := &Transcript{Header: *h, Request: *req, Response: *resp,
			RequestSignature: make([]byte, 70), ResponseSignature: make([]byte, 70)}
		file, err := tr.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("HashRequest/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := HashRequest(h, req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
		b.Run(fmt.Sprintf("Digests/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.Digests(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
		b.Run(fmt.Sprintf("Marshal/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.MarshalBinary(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
		b.Run(fmt.Sprintf("Parse/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(file); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
	b.Run("ParseHeader+Digests/ledger", func(b *testing.B) {
		h := testHeader(b, 1000)
		enc, err := h.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		var rh, sh [DigestSize]byte
		b.ReportAllocs()
		for b.Loop() {
			p, err := ParseHeader(enc)
			if err != nil {
				b.Fatal(err)
			}
			rd, err := RequestDigest(p, rh)
			if err != nil {
				b.Fatal(err)
			}
			_ = ResponseDigest(rd, sh)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
}
