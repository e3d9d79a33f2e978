package lists

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func BenchmarkEntries(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		var csvB, ndB strings.Builder
		csvB.WriteString("id,type,cat,reason,listed,ref\n")
		for i := range n {
			fmt.Fprintf(&csvB, "+86 138%08d,phone,1,7,2024-03-01,C%d\n", i, i%1000)
			fmt.Fprintf(&ndB, `{"id":"+86 138%08d","type":"phone","cat":1,"reason":7,"listed":"2024-03-01","ref":"C%d"}`+"\n", i, i%1000)
		}
		csvSrc, _ := NewDelimited(stringOpener(csvB.String()), DelimitedConfig{Mapping: testMapping})
		ndSrc, _ := NewNDJSON(stringOpener(ndB.String()), NDJSONConfig{Mapping: testMapping})
		for _, s := range []struct {
			name string
			src  Source
		}{{"CSV", csvSrc}, {"NDJSON", ndSrc}} {
			b.Run(fmt.Sprintf("%s/%d", s.name, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					got := 0
					for _, err := range s.src.Entries(context.Background(), 1) {
						if err != nil {
							b.Fatal(err)
						}
						got++
					}
					if got != n {
						b.Fatalf("got %d entries, want %d", got, n)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			})
		}
	}
}
