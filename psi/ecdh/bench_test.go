package ecdh

import (
	"fmt"
	"testing"

	"github.com/gtank/ristretto255"
	"go.dedis.ch/kyber/v3"
	kyber25519 "go.dedis.ch/kyber/v3/group/edwards25519"

	"github.com/riskmesh/riskmesh/internal/xmd"
)

// BenchmarkGroup compares the two candidate groups on the per-item
// operations of the protocol, one goroutine each. kyber has no hash to
// curve: the closest it offers is Pick from an XOF keyed by the item
// (try-and-increment, then a full scalar multiplication by the cofactor).
// Its Decode is UnmarshalBinary alone: kyber exposes no subgroup check, so a
// safe decoder would add a cofactor multiplication (one more ScalarMult).
func BenchmarkGroup(b *testing.B) {
	item := []byte("phone:+8613800138000")
	b.Run("kyber", func(b *testing.B) {
		suite := kyber25519.NewBlakeSHA256Ed25519()
		s := suite.Scalar().Pick(suite.RandomStream())
		p := suite.Point().Pick(suite.RandomStream())
		enc, _ := p.MarshalBinary()
		q := suite.Point()
		hash := func(dst kyber.Point, item []byte) { dst.Pick(suite.XOF(item)) }
		b.Run("ScalarMult", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				q.Mul(s, p)
			}
		})
		b.Run("HashToGroup", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				hash(q, item)
			}
		})
		b.Run("Encode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = p.MarshalBinary()
			}
		})
		b.Run("Decode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = q.UnmarshalBinary(enc)
			}
		})
		b.Run("MaskItem", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				hash(q, item)
				q.Mul(s, q)
				_, _ = q.MarshalBinary()
			}
		})
	})
	b.Run("ristretto255", func(b *testing.B) {
		s, err := randomScalar(testRand(40))
		if err != nil {
			b.Fatal(err)
		}
		// The library's own Element throughout, hashed with the same
		// expander: the per-item costs before psi/internal/ristretto.
		h := newHasher(NewSessionID([]byte("bench")))
		hash := func(e *ristretto255.Element, item []byte) {
			var u [xmd.Size]byte
			h.xmd.Expand(&u, item)
			_, _ = e.SetUniformBytes(u[:])
		}
		var p, q ristretto255.Element
		hash(&p, []byte("base"))
		enc := Point(p.Bytes())
		b.Run("ScalarMult", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				q.ScalarMult(s, &p)
			}
		})
		b.Run("HashToGroup", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				hash(&q, item)
			}
		})
		b.Run("Encode", func(b *testing.B) {
			b.ReportAllocs()
			var out Point
			for b.Loop() {
				copy(out[:], p.Bytes())
			}
		})
		b.Run("Decode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = q.SetCanonicalBytes(enc[:])
			}
		})
		b.Run("MaskItem", func(b *testing.B) {
			b.ReportAllocs()
			var out Point
			for b.Loop() {
				hash(&q, item)
				q.ScalarMult(s, &q)
				copy(out[:], q.Bytes())
			}
		})
	})
}

var benchSizes = []int{1000, 100000}

// benchSets caches the balanced sets (half shared) so setup stays out of the
// timed region.
func benchSets(b *testing.B, n int) (x, y [][]byte) {
	b.Helper()
	x, y, _, _ = sets(b, 50, n, n, n/2)
	return x, y
}

func reportItems(b *testing.B, n int) {
	b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "items/s")
}

func BenchmarkRequester(b *testing.B) {
	ctx := []byte("bench")
	for _, n := range benchSizes {
		x, y := benchSets(b, n)
		b.Run(fmt.Sprintf("Mask/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				req, err := NewRequester(BothLearn, ctx, x, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := req.Request(); err != nil {
					b.Fatal(err)
				}
			}
			reportItems(b, n)
		})
		b.Run(fmt.Sprintf("Finish/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				req, _, m2 := answered(b, ctx, x, y)
				b.StartTimer()
				if _, _, err := req.Finish(m2); err != nil {
					b.Fatal(err)
				}
			}
			reportItems(b, n)
		})
	}
}

func BenchmarkResponder(b *testing.B) {
	ctx := []byte("bench")
	for _, n := range benchSizes {
		x, y := benchSets(b, n)
		b.Run(fmt.Sprintf("Answer/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			req, err := NewRequester(BothLearn, ctx, x, nil)
			if err != nil {
				b.Fatal(err)
			}
			m1, err := req.Request()
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				resp, err := NewResponder(BothLearn, ctx, y, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := resp.Answer(m1); err != nil {
					b.Fatal(err)
				}
			}
			reportItems(b, n)
		})
		b.Run(fmt.Sprintf("Finish/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				req, resp, m2 := answered(b, ctx, x, y)
				_, m3, err := req.Finish(m2)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := resp.Finish(m3); err != nil {
					b.Fatal(err)
				}
			}
			reportItems(b, n)
		})
	}
}

// BenchmarkEndToEnd runs a whole BothLearn session over balanced sets of n
// items each, through the wire encodings, both parties in one process
// sharing the cores. items/s counts one side's n items per session.
func BenchmarkEndToEnd(b *testing.B) {
	ctx := []byte("bench")
	for _, n := range benchSizes {
		x, y := benchSets(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				out := run(b, BothLearn, ctx, x, y, 60)
				if len(out.requester.Matches) != n/2 || len(out.responder.Matches) != n/2 {
					b.Fatalf("matches %d/%d, want %d", len(out.requester.Matches), len(out.responder.Matches), n/2)
				}
			}
			reportItems(b, n)
		})
	}
}

// answered returns a session after message 2.
func answered(b *testing.B, ctx []byte, x, y [][]byte) (*Requester, *Responder, *Reply) {
	b.Helper()
	req, err := NewRequester(BothLearn, ctx, x, nil)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := NewResponder(BothLearn, ctx, y, nil)
	if err != nil {
		b.Fatal(err)
	}
	m1, err := req.Request()
	if err != nil {
		b.Fatal(err)
	}
	m2, err := resp.Answer(m1)
	if err != nil {
		b.Fatal(err)
	}
	return req, resp, m2
}
