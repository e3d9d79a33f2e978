package riskmeshv1

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// BenchmarkEvaluateRequest measures the protobuf framing cost of a catalog
// PSI batch (the psi work is measured in psi/oprf): it should be noise next
// to one scalar multiplication per element.
func BenchmarkEvaluateRequest(b *testing.B) {
	for _, n := range []int{1000, oprf.MaxBatch} {
		m := &PeerRequest{Body: &PeerRequest_Evaluate{Evaluate: &EvaluateRequest{
			Header: fill(transcript.MaxHeaderSize), Blinded: fill(n * oprf.ElementSize),
			RequesterSignature: fill(ecsig.MaxSignatureSize),
		}}}
		enc, err := proto.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("Marshal/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			iters := 0
			for b.Loop() {
				if _, err := proto.Marshal(m); err != nil {
					b.Fatal(err)
				}
				iters++
			}
			b.ReportMetric(float64(n*iters)/b.Elapsed().Seconds(), "items/s")
		})
		b.Run(fmt.Sprintf("Unmarshal/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			iters := 0
			for b.Loop() {
				var got PeerRequest
				if err := proto.Unmarshal(enc, &got); err != nil {
					b.Fatal(err)
				}
				iters++
			}
			b.ReportMetric(float64(n*iters)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
