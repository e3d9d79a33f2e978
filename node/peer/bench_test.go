package peer

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/qlog"
	"github.com/quic-go/quic-go/qlogwriter"

	"github.com/riskmesh/riskmesh/internal/cputime"
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

// exchangeSizes are the request sizes BenchmarkDo runs, each answered by a
// frame of about the same size: a one-identifier query, a 1,000-identifier
// one (32-byte elements), one past quic-go's initial congestion window (32
// packets of 1,280 bytes, 40 KB), and the largest catalog-PSI batch.
var exchangeSizes = []struct {
	name  string
	bytes int
}{
	{"100B", 100},
	{"33KB", 33_000},
	{"70KB", 70_000},
	{"2MB", 32 * 65535},
}

// BenchmarkDo measures one exchange (a request on its own stream, its
// answer frame) over QUIC on loopback with mutual TLS as Listen and Dial set
// it up; the handler echoes the request's bytes. Besides the time it reports
// the CPU time of both sides per exchange (the process's: they share it, and
// it is what a loaded machine distorts least), the goroutines started per
// exchange (on both sides) and the packets each side
// sends per exchange, counted on a second, traced
// connection after the timed loop (tracing costs CPU of its own).
func BenchmarkDo(b *testing.B) {
	cert, clientCert := newCert(b, "provider"), newCert(b, "requester")
	reg := newRegistry(map[string]tls.Certificate{"provider": cert, "requester": clientCert})
	h := func(_ context.Context, _ Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Evaluate{Evaluate: &riskmeshv1.EvaluateResponse{
			Evaluated: req.GetEvaluate().GetBlinded(), Proof: make([]byte, 64), ResponderSignature: make([]byte, 72),
		}}}
	}
	var serverSent, clientSent packetCount
	dial := func(counted bool) *Client {
		b.Helper()
		scfg := Config{Certificate: cert, Authorizer: reg, Handler: h, RequestRate: 1e9, RequestBurst: 1e9}
		ccfg := Config{Certificate: clientCert, Authorizer: reg}
		if counted {
			scfg.qlogTrace, ccfg.qlogTrace = serverSent.trace, clientSent.trace
		}
		s, err := Listen(b.Context(), "127.0.0.1:0", scfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		c, err := Dial(b.Context(), s.Addr().String(), ccfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = c.Close() })
		return c
	}
	timed, counted := dial(false), dial(true)
	do := func(c *Client, req *riskmeshv1.PeerRequest) {
		// A per-request deadline turns a stall into a failure.
		ctx, cancel := context.WithTimeout(b.Context(), 10*time.Second)
		defer cancel()
		if _, err := c.Do(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	for _, size := range exchangeSizes {
		req := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_Evaluate{Evaluate: &riskmeshv1.EvaluateRequest{
			Blinded: make([]byte, size.bytes),
		}}}
		b.Run(size.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(2 * int64(size.bytes))
			cpu0, g0 := cputime.Self(), goroutinesCreated()
			for b.Loop() {
				do(timed, req)
			}
			b.ReportMetric(float64((cputime.Self()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			b.ReportMetric(float64(goroutinesCreated()-g0)/float64(b.N), "goroutines/op")
			const warm, n = 10, 200
			for range warm {
				do(counted, req)
			}
			serverSent.n.Store(0)
			clientSent.n.Store(0)
			for range n {
				do(counted, req)
			}
			b.ReportMetric(float64(clientSent.n.Load())/n, "client-pkts/op")
			b.ReportMetric(float64(serverSent.n.Load())/n, "server-pkts/op")
		})
	}
}

// packetCount is a qlog trace that counts the packets its connections send,
// and among them the stream grants sent alone: packets with a MAX_STREAMS
// frame and no STREAM frame.
type packetCount struct{ n, grantsAlone atomic.Int64 }

func (p *packetCount) trace(context.Context, bool, quic.ConnectionID) qlogwriter.Trace { return p }

func (p *packetCount) AddProducer() qlogwriter.Recorder { return p }

func (p *packetCount) RecordEvent(ev qlogwriter.Event) {
	sent, ok := ev.(qlog.PacketSent)
	if !ok {
		return
	}
	p.n.Add(1)
	var grant, data bool
	for _, f := range sent.Frames {
		switch f.Frame.(type) {
		case *qlog.MaxStreamsFrame:
			grant = true
		case *qlog.StreamFrame:
			data = true
		}
	}
	if grant && !data {
		p.grantsAlone.Add(1)
	}
}

func (p *packetCount) Close() error { return nil }
