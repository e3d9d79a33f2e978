package peer

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// evaluateRequest is a catalog-PSI request frame of n blinded elements
// (contents irrelevant to the transport).
func evaluateRequest(n int) *riskmeshv1.PeerRequest {
	return &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_Evaluate{Evaluate: &riskmeshv1.EvaluateRequest{
		Header: make([]byte, 200), Blinded: make([]byte, 32*n), RequesterSignature: make([]byte, 72),
	}}}
}

func BenchmarkFrame(b *testing.B) {
	for _, n := range []int{1, 1000, 65535} {
		req := evaluateRequest(n)
		var enc bytes.Buffer
		if err := WriteFrame(&enc, req, riskmeshv1.MaxPeerRequestSize); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("Write/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(enc.Len()))
			var w bytes.Buffer
			for b.Loop() {
				w.Reset()
				if err := WriteFrame(&w, req, riskmeshv1.MaxPeerRequestSize); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Read/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(enc.Len()))
			m := new(riskmeshv1.PeerRequest)
			for b.Loop() {
				if err := ReadFrame(bytes.NewReader(enc.Bytes()), m, riskmeshv1.MaxPeerRequestSize); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDo measures one request per stream over QUIC on loopback with a
// handler that echoes the elements back, the shape of a catalog-PSI batch
// without the cryptography; items/s counts elements.
func BenchmarkDo(b *testing.B) {
	cert, clientCert := newCert(b, "provider"), newCert(b, "requester")
	reg := newRegistry(map[string]tls.Certificate{"provider": cert, "requester": clientCert})
	h := func(_ context.Context, _ Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Evaluate{Evaluate: &riskmeshv1.EvaluateResponse{
			Evaluated: req.GetEvaluate().GetBlinded(), Proof: make([]byte, 64), ResponderSignature: make([]byte, 72),
		}}}
	}
	s, err := Listen(b.Context(), "127.0.0.1:0", Config{Certificate: cert, Authorizer: reg, Handler: h, RequestRate: 1e9, RequestBurst: 1e9})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c, err := Dial(b.Context(), s.Addr().String(), Config{Certificate: clientCert, Authorizer: reg})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for _, n := range []int{1, 1000, 65535} {
		req := evaluateRequest(n)
		b.Run(fmt.Sprintf("Evaluate/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				// A per-request deadline turns a stall into a failure.
				ctx, cancel := context.WithTimeout(b.Context(), 10*time.Second)
				_, err := c.Do(ctx, req)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
