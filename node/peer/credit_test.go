package peer

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// TestStreamCreditRidesOnTheAnswer counts the packets of one-request-at-a-
// time exchanges on a connection: with the credit of the last answered
// stream kept back until the next answer (heldCredit), the new stream
// credit travels in that answer and the requester's acknowledgment in its
// next request, about one packet each way per exchange. Granting the credit
// when the stream completes sends it in a packet of its own (and draws an
// acknowledgment), about four in all. What the test insists on is the
// grants sent alone, which a loaded machine's pauses do not add to (they
// bring out acknowledgments quic-go sends on its own after 25 ms).
func TestStreamCreditRidesOnTheAnswer(t *testing.T) {
	var serverSent, clientSent packetCount
	f := newFixture(t, echoHandler, func(c *Config) { c.qlogTrace = serverSent.trace })
	c, err := Dial(t.Context(), f.server.Addr().String(), Config{Certificate: f.clientCert, Authorizer: f.reg, qlogTrace: clientSent.trace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	for range 10 { // past the handshake's packets and path MTU discovery's probes
		askInfo(t, c)
	}
	serverSent.n.Store(0)
	serverSent.grantsAlone.Store(0)
	clientSent.n.Store(0)
	const n = 100
	for range n {
		askInfo(t, c)
	}
	t.Logf("%.2f packets per exchange (requester %d, server %d over %d), %d stream grants sent alone",
		float64(serverSent.n.Load()+clientSent.n.Load())/n, clientSent.n.Load(), serverSent.n.Load(), n, serverSent.grantsAlone.Load())
	if alone := serverSent.grantsAlone.Load(); alone > n/10 {
		t.Fatalf("%d of %d stream grants sent in packets of their own, want them in the answers", alone, n)
	}
}

// TestAdversaryStreamsLeftOpen plays a requester that follows each request
// frame with stray bytes and never ends its side of the stream: the server
// answers, stops reading (finishRead), and the stream's credit still comes
// back, so with MaxStreams 1 (two credits, one kept back) request after
// request gets a stream.
func TestAdversaryStreamsLeftOpen(t *testing.T) {
	f := newFixture(t, echoHandler, func(c *Config) { c.MaxStreams = 1 })
	c, err := f.dial(t, f.clientCert)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		str, err := c.conn.OpenStreamSync(ctx)
		cancel()
		if err != nil {
			t.Fatalf("request %d: no stream: %v", i, err)
		}
		// Frame and stray bytes in one write: written apart, the server
		// may have answered and stopped reading (STOP_SENDING) before the
		// second write, which then fails.
		var req bytes.Buffer
		if err := WriteFrame(&req, infoRequest(), riskmeshv1.MaxPeerRequestSize); err != nil {
			t.Fatal(err)
		}
		req.WriteString("stray bytes after the frame")
		if _, err := str.Write(req.Bytes()); err != nil {
			t.Fatal(err)
		}
		_ = str.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp := new(riskmeshv1.PeerResponse)
		if err := ReadFrame(str, resp, riskmeshv1.MaxPeerErrorSize); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if resp.GetCatalogInfo().GetProvider() != "requester" {
			t.Fatalf("request %d: got %v, want the catalog info", i, resp)
		}
	}
}
