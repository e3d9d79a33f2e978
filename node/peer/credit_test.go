package peer

import (
	"context"
	"testing"
	"time"
)

// TestStreamCreditRidesOnTheAnswer counts the packets of one-request-at-a-
// time exchanges on a connection: with the credit of the last answered
// stream kept back until the next answer (heldCredit), the new stream
// credit travels in that answer and the requester's acknowledgment in its
// next request, about one packet each way per exchange. Granting the credit
// when the stream completes costs two more (a MAX_STREAMS packet and its
// acknowledgment), about four in all. The bound leaves room for the
// acknowledgments a loaded machine's pauses bring out (quic-go acknowledges
// on its own after 25 ms).
func TestStreamCreditRidesOnTheAnswer(t *testing.T) {
	var serverSent, clientSent packetCount
	f := newFixture(t, echoHandler, func(c *Config) { c.qlogTrace = serverSent.trace })
	c, err := Dial(t.Context(), f.server.Addr().String(), Config{Certificate: f.clientCert, Authorizer: f.reg, qlogTrace: clientSent.trace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	do := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if _, err := c.Do(ctx, infoRequest()); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 { // past the handshake's packets and path MTU discovery's probes
		do()
	}
	serverSent.n.Store(0)
	clientSent.n.Store(0)
	const n = 100
	for range n {
		do()
	}
	perExchange := float64(serverSent.n.Load()+clientSent.n.Load()) / n
	t.Logf("%.2f packets per exchange (requester %d, server %d over %d)", perExchange, clientSent.n.Load(), serverSent.n.Load(), n)
	if perExchange >= 3 {
		t.Fatalf("%.2f packets per exchange, want fewer than 3", perExchange)
	}
}
