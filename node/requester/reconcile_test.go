package requester

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// kill stops p's listener as a crash would, keeping its node and store;
// restart listens again on the same address.
func (p *testProvider) kill(t testing.TB) string {
	t.Helper()
	addr := p.srv.Addr().String()
	must(t, p.srv.Close())
	return addr
}

func (n *network) restart(p *testProvider, addr string) {
	t := n.t
	t.Helper()
	srv, err := peer.Listen(context.Background(), addr, peer.Config{Certificate: p.cert, Authorizer: n.dir, Handler: p.handle})
	must(t, err)
	p.srv = srv
	t.Cleanup(func() { srv.Close() })
}

// A provider killed before a query is UNAVAILABLE and unbilled, and once
// it restarts it is never sent the request: no stream could be opened, so
// the request cannot have reached it, and no late fetch starts.
func TestRequestNeverSentIsNeverSentLater(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	r := n.newRequester("", func(c *Config) { c.PhaseTimeout = 200 * time.Millisecond })
	ready(t, r)
	p := n.providers[0]
	addr := p.kill(t)

	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2),
		Deadline: durationpb.New(time.Second)})
	res := events[len(events)-1].GetResult()
	pr := providerResult(t, res, "P1MSP")
	if pr.GetStatus() != unavailable || pr.Amount != 0 || strings.HasSuffix(pr.Error.GetMessage(), lateNote) {
		t.Fatalf("part %v, want UNAVAILABLE, unbilled, not asked again", pr)
	}
	if r.late.len() != 0 {
		t.Fatalf("%d late requests pending for a request never sent", r.late.len())
	}

	n.restart(p, addr)
	// A query after the restart reaches it: the request the killed node
	// never saw is still not among what it receives.
	after := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(3)})
	if pr := providerResult(t, after[len(after)-1].GetResult(), "P1MSP"); pr.GetStatus() != answered {
		t.Fatalf("after the restart P1 is %v", pr)
	}
	if evals, seqs := p.stats(); evals != 1 || len(seqs) != 1 {
		t.Fatalf("P1 received %d evaluates and answered %v, want only the later query's", evals, seqs)
	}
	if e := ledgerEntries(t, n); len(e) != 1 || e[0].Amount != testPrice {
		t.Fatalf("ledger entries %v, want only the later query's", e)
	}
}
