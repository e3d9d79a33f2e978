package oprf

import (
	"bytes"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"time"
	"unsafe"

	"filippo.io/edwards25519"
	r255 "github.com/bwesterb/go-ristretto"
	circl "github.com/cloudflare/circl/oprf"
	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/internal/cputime"
	"github.com/riskmesh/riskmesh/psi/internal/ristretto"
)

// benchSizes are the batch sizes of the step benchmarks.
var benchSizes = []int{1, 100, 1000, 10000}

// reportItems adds the metrics every sub-benchmark reports: wall-clock
// throughput, and process CPU time per item since cpu0 (taken just before
// the timed loop), which stays meaningful when other processes share the
// cores.
func reportItems(b *testing.B, n int, cpu0 time.Duration) {
	items := float64(n) * float64(b.N)
	b.ReportMetric(items/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(float64((cputime.Self()-cpu0).Microseconds())/items, "cpu-µs/item")
}

// benchName is base for multiplicative blinding, base+"Additive" for additive.
func benchName(base string, b Blinding) string {
	if b == BlindAdditive {
		return base + "Additive"
	}
	return base
}

// BenchmarkOPRF measures each step per batch size under each blinding, the
// whole verified query (blind, evaluate with proof, verify and finalise)
// and, in the same run,
// circl's OPRF, VOPRF and POPRF end to end on a 1,000-item batch.
func BenchmarkOPRF(b *testing.B) {
	sk, err := GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	info := []byte("riskmesh/v1|black|20250101")
	client, _ := NewClient(sk.Public(), info)
	ev, _ := NewEvaluator(sk, info)
	rng := mrand.New(mrand.NewPCG(7, 7))
	inputs := make(map[int][][]byte)
	for _, n := range benchSizes {
		inputs[n] = make([][]byte, n)
		for i := range n {
			inputs[n][i] = fmt.Appendf(nil, "phone:+86138%08d", rng.IntN(100000000))
		}
	}

	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("Requester/Blind/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cputime.Self()
			for b.Loop() {
				if _, _, err := client.Blind(rand.Reader, inputs[n]); err != nil {
					b.Fatal(err)
				}
			}
			reportItems(b, n, cpu0)
		})
	}
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("Requester/BlindAdditive/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cputime.Self()
			for b.Loop() {
				if _, _, err := client.BlindAdditive(rand.Reader, inputs[n]); err != nil {
					b.Fatal(err)
				}
			}
			reportItems(b, n, cpu0)
		})
	}
	// What a Client pays once per provider, category and period for
	// additive blinding: the fixed-base table of B.
	b.Run("Requester/AdditiveTable", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, _ := NewClient(sk.Public(), info)
			c.PrecomputeAdditive()
		}
		b.ReportMetric(float64(unsafe.Sizeof(r255.ScalarMultTable{})), "table-bytes")
	})
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("Provider/Evaluate/%d", n), func(b *testing.B) {
			_, blinded, _ := client.Blind(rand.Reader, inputs[n])
			b.ReportAllocs()
			cpu0 := cputime.Self()
			for b.Loop() {
				if _, _, err := ev.BlindEvaluate(rand.Reader, blinded); err != nil {
					b.Fatal(err)
				}
			}
			reportItems(b, n, cpu0)
		})
	}
	// FinalizeAdditiveAhead is Finalize of an additive state whose
	// unblinding terms were computed while the answer was awaited
	// (PrecomputeUnblind, finished outside the timer and the CPU count):
	// what is left on the requester's critical path.
	for _, v := range []struct {
		blinding Blinding
		ahead    bool
	}{{BlindMultiplicative, false}, {BlindAdditive, false}, {BlindAdditive, true}} {
		name, blind := benchName("Requester/Finalize", v.blinding), blindWith(client, v.blinding)
		if v.ahead {
			name += "Ahead"
		}
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				// A state is finalised once, so every iteration blinds again,
				// outside the timer and the CPU count, with the same blinds.
				blinds := make([]byte, n*uniformSize)
				if _, err := rand.Read(blinds); err != nil {
					b.Fatal(err)
				}
				_, blinded, _ := blind(bytes.NewReader(blinds), inputs[n])
				evaluated, proof, _ := ev.BlindEvaluate(rand.Reader, blinded)
				b.ReportAllocs()
				cpu0 := cputime.Self()
				for b.Loop() {
					b.StopTimer()
					c := cputime.Self()
					st, _, err := blind(bytes.NewReader(blinds), inputs[n])
					if err != nil {
						b.Fatal(err)
					}
					if v.ahead {
						st.PrecomputeUnblind()
						<-st.ahead.stopped
					}
					cpu0 += cputime.Self() - c
					b.StartTimer()
					if _, err := client.Finalize(st, evaluated, proof[:]); err != nil {
						b.Fatal(err)
					}
				}
				reportItems(b, n, cpu0)
			})
		}
	}
	for _, n := range benchSizes {
		// What the batch-binding rule adds on each side: one SHA-512 pass
		// over the batch for the composite seed.
		b.Run(fmt.Sprintf("Proof/BatchSeed/%d", n), func(b *testing.B) {
			_, blinded, _ := client.Blind(rand.Reader, inputs[n])
			evaluated, _, _ := ev.BlindEvaluate(rand.Reader, blinded)
			b.ReportAllocs()
			cpu0 := cputime.Self()
			for b.Loop() {
				_ = client.p.batchSeed(ProofBinding128, &client.seed, &client.bEnc, evaluated, blinded)
			}
			reportItems(b, n, cpu0)
		})
	}
	for _, blinding := range []Blinding{BlindMultiplicative, BlindAdditive} {
		name, blind := benchName("EndToEnd", blinding), blindWith(client, blinding)
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				b.ReportAllocs()
				cpu0 := cputime.Self()
				for b.Loop() {
					st, blinded, err := blind(rand.Reader, inputs[n])
					if err != nil {
						b.Fatal(err)
					}
					evaluated, proof, err := ev.BlindEvaluate(rand.Reader, blinded)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := client.Finalize(st, evaluated, proof[:]); err != nil {
						b.Fatal(err)
					}
				}
				reportItems(b, n, cpu0)
			})
		}
	}
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("Provider/FullEvaluate/%d", n), func(b *testing.B) {
			out := make([][OutputSize]byte, n)
			b.ReportAllocs()
			cpu0 := cputime.Self()
			for b.Loop() {
				if err := ev.EvaluateBatch(out, inputs[n]); err != nil {
					b.Fatal(err)
				}
			}
			reportItems(b, n, cpu0)
		})
	}

	// The evaluator's encodings: ristretto255's one inverse square root per
	// element against the batched encoding of doubles (psi/internal/ristretto), on the
	// same 1,000 points; and its decoding against ristretto255's.
	b.Run("Encoding/Element/1000", func(b *testing.B) {
		_, blinded, _ := client.Blind(rand.Reader, inputs[1000])
		elems := make([]ristretto255.Element, 1000)
		if err := decodeBatch(elems, blinded, decodeElement); err != nil {
			b.Fatal(err)
		}
		out := make([]byte, len(blinded))
		cpu0 := cputime.Self()
		for b.Loop() {
			for i := range elems {
				copy(element(out, i), elems[i].Bytes())
			}
		}
		reportItems(b, len(elems), cpu0)
	})
	b.Run("Encoding/BatchedDoubles/1000", func(b *testing.B) {
		_, blinded, _ := client.Blind(rand.Reader, inputs[1000])
		points := make([]edwards25519.Point, 1000)
		if err := decodeBatch(points, blinded, decodePoint); err != nil {
			b.Fatal(err)
		}
		out := make([]byte, len(blinded))
		cpu0 := cputime.Self()
		for b.Loop() {
			ristretto.DoubleAndEncode(out, points)
		}
		reportItems(b, len(points), cpu0)
	})
	for _, dec := range []struct {
		name string
		run  func(flat []byte) error
	}{
		{"Element", func(flat []byte) error {
			return decodeBatch(make([]ristretto255.Element, len(flat)/ElementSize), flat, decodeElement)
		}},
		{"Point", func(flat []byte) error {
			return decodeBatch(make([]edwards25519.Point, len(flat)/ElementSize), flat, decodePoint)
		}},
	} {
		b.Run(fmt.Sprintf("Decoding/%s/1000", dec.name), func(b *testing.B) {
			_, blinded, _ := client.Blind(rand.Reader, inputs[1000])
			cpu0 := cputime.Self()
			for b.Loop() {
				if err := dec.run(blinded); err != nil {
					b.Fatal(err)
				}
			}
			reportItems(b, 1000, cpu0)
		})
	}

	const n = 1000
	cServer, cClient := circlPair(b, sk)
	csk, _ := circl.GenerateKey(circl.SuiteRistretto255, rand.Reader)
	b.Run(fmt.Sprintf("CirclVOPRF/EndToEnd/%d", n), func(b *testing.B) {
		server := circl.NewVerifiableServer(circl.SuiteRistretto255, csk)
		vclient := circl.NewVerifiableClient(circl.SuiteRistretto255, csk.Public())
		b.ReportAllocs()
		cpu0 := cputime.Self()
		for b.Loop() {
			fin, req, err := vclient.Blind(inputs[n])
			if err != nil {
				b.Fatal(err)
			}
			eval, err := server.Evaluate(req)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := vclient.Finalize(fin, eval); err != nil {
				b.Fatal(err)
			}
		}
		reportItems(b, n, cpu0)
	})
	b.Run(fmt.Sprintf("CirclPOPRF/EndToEnd/%d", n), func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cputime.Self()
		for b.Loop() {
			fin, req, err := cClient.Blind(inputs[n])
			if err != nil {
				b.Fatal(err)
			}
			eval, err := cServer.Evaluate(req, info)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := cClient.Finalize(fin, eval, info); err != nil {
				b.Fatal(err)
			}
		}
		reportItems(b, n, cpu0)
	})
	b.Run(fmt.Sprintf("CirclOPRF/EndToEnd/%d", n), func(b *testing.B) {
		server := circl.NewServer(circl.SuiteRistretto255, csk)
		bclient := circl.NewClient(circl.SuiteRistretto255)
		b.ReportAllocs()
		cpu0 := cputime.Self()
		for b.Loop() {
			fin, req, err := bclient.Blind(inputs[n])
			if err != nil {
				b.Fatal(err)
			}
			eval, err := server.Evaluate(req)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := bclient.Finalize(fin, eval); err != nil {
				b.Fatal(err)
			}
		}
		reportItems(b, n, cpu0)
	})
}
