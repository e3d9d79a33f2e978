package daemon

import (
	"context"
	"time"

	"github.com/riskmesh/riskmesh/node/metrics"
	"github.com/riskmesh/riskmesh/node/outbound"
	"github.com/riskmesh/riskmesh/node/requester"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// metricsOptions reads the components' state at scrape time; without the
// provider or requester side its series are left out, and the outbox's
// without a journal (journaling: the node answers catalog queries or
// reconciliations). The functions read n.prov, n.req, n.journal and
// n.server, which start sets before the metrics listener starts.
func (n *node) metricsOptions(providing, requesting, journaling bool) metrics.Options {
	o := metrics.Options{Health: n.health, PeerConnections: func() int { return n.server.Connections() }}
	if requesting {
		o.LateAnswers = func() (int, uint64, uint64) { return n.req.LateAnswers() }
		o.Push = n.pushStats
	}
	if journaling {
		o.OutboxDepth = func() int { return n.journal.Depth() }
		o.OutboxDead = func() int { return n.journal.DeadCount() }
		o.LedgerSubmitErrors = func() uint64 { return n.journal.SubmitErrors() }
	}
	if providing {
		o.CatalogAges = n.catalogAges
		o.ListSourceStale = n.listSourceStale
		o.LiveKeyUploads = func() (uint64, uint64) { return n.prov.LiveKeyUploads() }
		o.LiveQueries = func() (uint64, uint64, uint64) { return n.prov.LiveQueries() }
	}
	return o
}

// pushStats reports the push destinations; none without push.
func (n *node) pushStats() []metrics.PushStats {
	if n.push == nil {
		return nil
	}
	var out []metrics.PushStats
	for _, s := range n.push.Stats() {
		out = append(out, metrics.PushStats{Destination: s.Destination, Depth: s.Depth, Dead: s.Dead,
			Delivered: s.Delivered, Retried: s.Retried, Killed: s.Killed})
	}
	return out
}

// catalogAges is, per provided category, the time since the catalog now
// served was last changed (built or published).
func (n *node) catalogAges() map[string]time.Duration {
	ages := map[string]time.Duration{}
	for _, c := range n.prov.CatalogStatus("") {
		if c.GetServing() && c.GetUpdatedAt() != nil {
			ages[c.GetCategory()] = time.Since(c.GetUpdatedAt().AsTime())
		}
	}
	return ages
}

// instrumentedRequester counts the queries the API hands to the requester.
type instrumentedRequester struct {
	*requester.Requester
	query metrics.QueryFunc
}

func (r instrumentedRequester) Query(ctx context.Context, req *riskmeshv1.QueryRequest, send func(*riskmeshv1.QueryEvent) error) error {
	return r.query(ctx, req, send)
}

// instrumentedConn counts the requests the requester makes to a provider.
// It is used by pointer: the requester compares connections.
type instrumentedConn struct {
	outbound.Conn
	do metrics.DoFunc
}

func (c *instrumentedConn) Do(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
	return c.do(ctx, req)
}

// instrumentDial wraps every connection dial makes.
func instrumentDial(m *metrics.Metrics, dial outbound.Dialer) outbound.Dialer {
	return func(ctx context.Context, endpoint string) (outbound.Conn, error) {
		c, err := dial(ctx, endpoint)
		if err != nil {
			return nil, err
		}
		return &instrumentedConn{Conn: c, do: m.InstrumentDo(c.Do)}, nil
	}
}
