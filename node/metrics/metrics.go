package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every series name.
const Namespace = "riskmesh"

// Options supplies the state the node's components own; each function is
// called at scrape time and must return quickly. A nil function leaves its
// series out rather than reporting a made-up zero.
type Options struct {
	// OutboxDepth is the number of accounting entries not yet on the ledger.
	OutboxDepth func() int
	// OutboxDead is the number of entries the ledger rejected for good.
	OutboxDead func() int
	// LedgerSubmitErrors is the cumulative number of failed ledger
	// submissions (a counter: it must never decrease).
	LedgerSubmitErrors func() uint64
	// PeerConnections is the number of open peer connections.
	PeerConnections func() int
	// CatalogAges returns, per category this node provides, how long ago
	// its current catalog was built.
	CatalogAges func() map[string]time.Duration
	// ListSourceStale returns, per list source, the age of the last good
	// read its catalogs are built from while its latest read failed, and 0
	// while it reads well (docs/operations.md, "Updating lists").
	ListSourceStale func() map[string]time.Duration
	// LateAnswers reports the requester's late fetches: pending now, and
	// (counters) ended with an answer or given up.
	LateAnswers func() (pending int, answered, givenUp uint64)
	// LiveKeyUploads reports the evaluation-key uploads the provider
	// decoded and those it refused over their requester's budget
	// (counters).
	LiveKeyUploads func() (decoded, refused uint64)
	// LiveQueries reports the live queries the provider decoded, those it
	// evaluated again for a retry and the retries it refused over their
	// requester's budget (counters).
	LiveQueries func() (decoded, reevaluated, refused uint64)
	// Push reports each push destination's queue (node/push).
	Push func() []PushStats
	// Health reports the node's components for /healthz. Default: SERVING
	// with no components.
	Health HealthFunc
}

// Metrics holds the node's series and their registry.
type Metrics struct {
	reg    *prometheus.Registry
	health HealthFunc

	queries          *prometheus.CounterVec
	queryItems       prometheus.Counter
	queryLatency     prometheus.Histogram
	providerRequests *prometheus.CounterVec
	servedRequests   *prometheus.CounterVec
	evaluateItems    prometheus.Counter
	evaluateLatency  prometheus.Histogram
}

// latencyBuckets span a single small local look-up (a few milliseconds) to
// a query that runs into a long deadline (minutes).
var latencyBuckets = prometheus.ExponentialBuckets(0.001, 2.5, 14) // 1 ms .. about 2.5 min

// New registers the node's series, and the Go runtime and process
// collectors, in a new registry.
func New(opts Options) *Metrics {
	m := &Metrics{
		reg:    prometheus.NewRegistry(),
		health: opts.Health,
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "queries_total",
			Help: "Queries received on the business API, by how they ended.",
		}, []string{"status"}),
		queryItems: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "query_items_total",
			Help: "Identifiers received in queries.",
		}),
		queryLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "query_latency_seconds",
			Help:    "Time from receiving a query to its last event.",
			Buckets: latencyBuckets,
		}),
		providerRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "provider_requests_total",
			Help: "Requests this node sent to providers, by kind and outcome (ok, a peer error code, transport, canceled).",
		}, []string{"kind", "status"}),
		servedRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "peer_requests_served_total",
			Help: "Requests this node answered for peers, by kind and outcome (ok or the error code sent).",
		}, []string{"kind", "status"}),
		evaluateItems: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "evaluate_items_total",
			Help: "Blinded elements this node evaluated for requesters (each one is billed).",
		}),
		evaluateLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "evaluate_latency_seconds",
			Help:    "Time to answer one evaluate request, successful or not.",
			Buckets: latencyBuckets,
		}),
	}
	m.reg.MustRegister(
		m.queries, m.queryItems, m.queryLatency, m.providerRequests, m.servedRequests,
		m.evaluateItems, m.evaluateLatency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	gauge := func(name, help string, f func() int) {
		if f != nil {
			m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help},
				func() float64 { return float64(f()) }))
		}
	}
	gauge("outbox_depth", "Accounting entries waiting to be recorded on the ledger.", opts.OutboxDepth)
	gauge("outbox_dead", "Accounting entries the ledger rejected permanently.", opts.OutboxDead)
	gauge("peer_connections", "Open QUIC connections with other nodes.", opts.PeerConnections)
	counter := func(name, help string, f func() uint64) {
		if f != nil {
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help},
				func() float64 { return float64(f()) }))
		}
	}
	counter("ledger_submit_errors_total", "Ledger submissions of accounting entries that failed (and were retried).", opts.LedgerSubmitErrors)
	if f := opts.LateAnswers; f != nil {
		gauge("late_answers_pending", "Requests cut off by their query's deadline that are still being sent for a late answer.",
			func() int { n, _, _ := f(); return n })
		counter("late_answers_total", "Late fetches that ended with the provider's answer.",
			func() uint64 { _, n, _ := f(); return n })
		counter("late_answers_given_up_total", "Late fetches that ended without an answer (nothing billed for them).",
			func() uint64 { _, _, n := f(); return n })
	}
	if f := opts.LiveKeyUploads; f != nil {
		counter("live_key_decodes_total", "Evaluation-key uploads this provider decoded.",
			func() uint64 { n, _ := f(); return n })
		counter("live_key_uploads_refused_total", "Evaluation-key uploads refused over their requester's budget, before decoding.",
			func() uint64 { _, n := f(); return n })
	}
	if f := opts.LiveQueries; f != nil {
		counter("live_query_decodes_total", "Live queries this provider decoded or tried to, one that does not decode included (a retry whose answer is kept is not decoded).",
			func() uint64 { n, _, _ := f(); return n })
		counter("live_reevaluations_total", "Live query retries let through to be decoded and evaluated again (their answer no longer kept, or the query undecodable).",
			func() uint64 { _, n, _ := f(); return n })
		counter("live_retries_refused_total", "Live query retries refused over their requester's re-evaluation budget, before decoding.",
			func() uint64 { _, _, n := f(); return n })
	}
	if f := opts.Push; f != nil {
		m.reg.MustRegister(pushCollector(f))
	}
	if f := opts.CatalogAges; f != nil {
		m.reg.MustRegister(&durations{desc: catalogAgeDesc, values: f})
	}
	if f := opts.ListSourceStale; f != nil {
		m.reg.MustRegister(&durations{desc: listSourceStaleDesc, values: f})
	}
	return m
}

// Registry returns the registry, for tests and for adding a component's
// own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// durations reports a gauge in seconds with one label from a function, so
// a label value that stops being reported (a category no longer provided,
// a source removed) disappears instead of keeping its last value.
type durations struct {
	desc   *prometheus.Desc
	values func() map[string]time.Duration
}

var (
	catalogAgeDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "catalog_age_seconds"),
		"Time since this node built its current catalog of a category.", []string{"category"}, nil)
	listSourceStaleDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "list_source_stale_seconds"),
		"Age of the last good read a list source's catalogs are built from while its latest read failed; 0 while it reads well.",
		[]string{"source"}, nil)
)

func (c *durations) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *durations) Collect(ch chan<- prometheus.Metric) {
	for label, d := range c.values() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, d.Seconds(), label)
	}
}
