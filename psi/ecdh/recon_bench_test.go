package ecdh

import (
	"fmt"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/internal/cputime"
)

// reconBenchSizes are the per-side sizes of BenchmarkReconcile. 10^6 takes
// minutes per run on two cores: select it with -bench 'Reconcile/.*/1000000'.
var reconBenchSizes = []int{10_000, 100_000, 1_000_000}

// BenchmarkReconcile runs a balanced BothLearn reconciliation of n items a
// side (half shared), both sides in one process, every message through its
// wire encoding: "Proofs" is the streaming, verifiable Reconciler (secret
// orders, a batched DLEQ proof on every returned chunk, default chunk
// size), "NoProofs" the single-shot protocol without proofs on the same
// inputs. cpu-µs/item divides the process's CPU time by both sides' items
// (2n), the unit of the anchor (SecretFlow: ~67 core-µs per item).
func BenchmarkReconcile(b *testing.B) {
	variants := []struct {
		name string
		// run returns the matches of both sides.
		run func(b *testing.B, x, y [][]byte) (int, int)
	}{
		{"Proofs", func(b *testing.B, x, y [][]byte) (int, int) {
			gotX, gotY, err := newPair(b, BothLearn, x, y, 0, 7).run(b, nil)
			if err != nil {
				b.Fatal(err)
			}
			return len(gotX), len(gotY)
		}},
		{"NoProofs", func(b *testing.B, x, y [][]byte) (int, int) {
			out := run(b, BothLearn, []byte("bench"), x, y, 60)
			return len(out.requester.Matches), len(out.responder.Matches)
		}},
	}
	for _, n := range reconBenchSizes {
		for _, v := range variants {
			b.Run(fmt.Sprintf("%s/%d", v.name, n), func(b *testing.B) {
				x, y := benchSets(b, n)
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cputime.Self()
				for range b.N {
					if mx, my := v.run(b, x, y); mx != n/2 || my != n/2 {
						b.Fatalf("matches %d/%d, want %d", mx, my, n/2)
					}
				}
				reportCPU(b, 2*n, cpu0)
			})
		}
	}
}

func reportCPU(b *testing.B, items int, cpu0 time.Duration) {
	total := float64(b.N) * float64(items)
	b.ReportMetric(total/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(float64((cputime.Self()-cpu0).Microseconds())/total, "cpu-µs/item")
}
