package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// scrape fetches /metrics over HTTP and parses the text format.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value returns the value of the series name{labels} (counter, gauge, or a
// histogram's sample count).
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	fam, ok := fams[name]
	if !ok {
		t.Fatalf("no series %s", name)
	}
next:
	for _, m := range fam.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func TestComponentState(t *testing.T) {
	m := New(Options{
		OutboxDepth:        func() int { return 7 },
		OutboxDead:         func() int { return 2 },
		LedgerSubmitErrors: func() uint64 { return 5 },
		PeerConnections:    func() int { return 3 },
		LateAnswers:        func() (int, uint64, uint64) { return 4, 11, 6 },
		LiveKeyUploads:     func() (uint64, uint64) { return 16, 40 },
		LiveQueries:        func() (uint64, uint64, uint64) { return 21, 4, 9 },
		CatalogAges: func() map[string]time.Duration {
			return map[string]time.Duration{"black": 90 * time.Second, "grey": time.Hour}
		},
		ListSourceStale: func() map[string]time.Duration {
			return map[string]time.Duration{"crm": 0, "sanctions": 26 * time.Hour}
		},
		Push: func() []PushStats {
			return []PushStats{{Destination: "core-banking", Depth: 12, Dead: 1, Delivered: 300, Retried: 8, Killed: 2},
				{Destination: "events-bus", Delivered: 40}}
		},
	})
	fams := scrape(t, m)
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"riskmesh_outbox_depth", nil, 7},
		{"riskmesh_outbox_dead", nil, 2},
		{"riskmesh_ledger_submit_errors_total", nil, 5},
		{"riskmesh_peer_connections", nil, 3},
		{"riskmesh_late_answers_pending", nil, 4},
		{"riskmesh_late_answers_total", nil, 11},
		{"riskmesh_late_answers_given_up_total", nil, 6},
		{"riskmesh_live_key_decodes_total", nil, 16},
		{"riskmesh_live_key_uploads_refused_total", nil, 40},
		{"riskmesh_live_query_decodes_total", nil, 21},
		{"riskmesh_live_reevaluations_total", nil, 4},
		{"riskmesh_live_retries_refused_total", nil, 9},
		{"riskmesh_catalog_age_seconds", map[string]string{"category": "black"}, 90},
		{"riskmesh_catalog_age_seconds", map[string]string{"category": "grey"}, 3600},
		{"riskmesh_list_source_stale_seconds", map[string]string{"source": "crm"}, 0},
		{"riskmesh_list_source_stale_seconds", map[string]string{"source": "sanctions"}, 26 * 3600},
		{"riskmesh_push_queue_depth", map[string]string{"destination": "core-banking"}, 12},
		{"riskmesh_push_dead_events", map[string]string{"destination": "core-banking"}, 1},
		{"riskmesh_push_delivered_total", map[string]string{"destination": "core-banking"}, 300},
		{"riskmesh_push_retries_total", map[string]string{"destination": "core-banking"}, 8},
		{"riskmesh_push_dead_total", map[string]string{"destination": "core-banking"}, 2},
		{"riskmesh_push_delivered_total", map[string]string{"destination": "events-bus"}, 40},
		{"riskmesh_push_queue_depth", map[string]string{"destination": "events-bus"}, 0},
	}
	for _, tt := range tests {
		if got := value(t, fams, tt.name, tt.labels); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("Go runtime collector missing")
	}
}

func TestNilSourcesLeaveSeriesOut(t *testing.T) {
	fams := scrape(t, New(Options{}))
	for _, name := range []string{"riskmesh_outbox_depth", "riskmesh_outbox_dead", "riskmesh_ledger_submit_errors_total",
		"riskmesh_peer_connections", "riskmesh_catalog_age_seconds", "riskmesh_list_source_stale_seconds",
		"riskmesh_late_answers_pending", "riskmesh_late_answers_total", "riskmesh_live_key_decodes_total", "riskmesh_push_queue_depth", "riskmesh_push_delivered_total"} {
		if _, ok := fams[name]; ok {
			t.Errorf("%s reported without a source", name)
		}
	}
}

func TestSeparateRegistries(t *testing.T) {
	a, b := New(Options{}), New(Options{})
	req := &riskmeshv1.QueryRequest{Identifiers: make([]*riskmeshv1.Identifier, 1)}
	a.InstrumentQuery(func(context.Context, *riskmeshv1.QueryRequest, func(*riskmeshv1.QueryEvent) error) error { return nil })(t.Context(), req, nil)
	if got := value(t, scrape(t, b), "riskmesh_query_items_total", nil); got != 0 {
		t.Errorf("second node counted the first node's query: %v", got)
	}
}

func result(statuses ...riskmeshv1.ProviderStatus) *riskmeshv1.QueryEvent {
	r := &riskmeshv1.QueryResult{}
	for _, s := range statuses {
		r.Providers = append(r.Providers, &riskmeshv1.ProviderResult{Status: s})
	}
	return &riskmeshv1.QueryEvent{Body: &riskmeshv1.QueryEvent_Result{Result: r}}
}

var acceptedEvent = &riskmeshv1.QueryEvent{Body: &riskmeshv1.QueryEvent_Accepted{Accepted: &riskmeshv1.QueryAccepted{}}}

func TestInstrumentQuery(t *testing.T) {
	const (
		answered    = riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED
		unavailable = riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE
	)
	errBoom := errors.New("boom")
	tests := []struct {
		name   string
		events []*riskmeshv1.QueryEvent
		err    error
		cancel bool
		want   string
	}{
		{"all answered", []*riskmeshv1.QueryEvent{acceptedEvent, result(answered, answered)}, nil, false, QueryOK},
		{"one unavailable", []*riskmeshv1.QueryEvent{acceptedEvent, result(answered, unavailable)}, nil, false, QueryPartial},
		{"none answered", []*riskmeshv1.QueryEvent{acceptedEvent, result(unavailable)}, nil, false, QueryUnanswered},
		{"refused up front", nil, errBoom, false, QueryRejected},
		{"failed after acceptance", []*riskmeshv1.QueryEvent{acceptedEvent}, errBoom, false, QueryFailed},
		{"caller went away", []*riskmeshv1.QueryEvent{acceptedEvent}, context.Canceled, true, QueryCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(Options{})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			var forwarded int
			q := m.InstrumentQuery(func(_ context.Context, _ *riskmeshv1.QueryRequest, send func(*riskmeshv1.QueryEvent) error) error {
				for _, ev := range tt.events {
					if err := send(ev); err != nil {
						return err
					}
				}
				return tt.err
			})
			req := &riskmeshv1.QueryRequest{Identifiers: make([]*riskmeshv1.Identifier, 3)}
			err := q(ctx, req, func(*riskmeshv1.QueryEvent) error { forwarded++; return nil })
			if !errors.Is(err, tt.err) {
				t.Errorf("error %v, want %v", err, tt.err)
			}
			if forwarded != len(tt.events) {
				t.Errorf("%d events forwarded, want %d", forwarded, len(tt.events))
			}
			fams := scrape(t, m)
			if got := value(t, fams, "riskmesh_queries_total", map[string]string{"status": tt.want}); got != 1 {
				t.Errorf("queries_total{status=%q} = %v, want 1", tt.want, got)
			}
			if got := value(t, fams, "riskmesh_query_items_total", nil); got != 3 {
				t.Errorf("query_items_total = %v, want 3", got)
			}
			if got := value(t, fams, "riskmesh_query_latency_seconds", nil); got != 1 {
				t.Errorf("query_latency_seconds count = %v, want 1", got)
			}
		})
	}
}

func evaluateRequest(n int) *riskmeshv1.PeerRequest {
	return &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_Evaluate{Evaluate: &riskmeshv1.EvaluateRequest{Blinded: make([]byte, n*oprf.ElementSize)}}}
}

func peerError(code riskmeshv1.ErrorCode) *riskmeshv1.PeerResponse {
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Error{Error: &riskmeshv1.PeerError{Code: code}}}
}

func TestInstrumentHandler(t *testing.T) {
	m := New(Options{})
	h := m.InstrumentHandler(func(_ context.Context, _ peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		switch {
		case req.GetCatalogInfo() != nil:
			return nil
		case len(req.GetEvaluate().GetBlinded()) > 100*oprf.ElementSize:
			return peerError(riskmeshv1.ErrorCode_ERROR_CODE_BATCH_TOO_LARGE)
		}
		n := len(req.GetEvaluate().GetBlinded())
		return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Evaluate{Evaluate: &riskmeshv1.EvaluateResponse{Evaluated: make([]byte, n)}}}
	})
	who := peer.Identity{MSPID: "Lender2MSP"}
	h(t.Context(), who, evaluateRequest(10))
	h(t.Context(), who, evaluateRequest(20))
	h(t.Context(), who, evaluateRequest(200))
	h(t.Context(), who, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogInfo{CatalogInfo: &riskmeshv1.CatalogInfoRequest{}}})

	fams := scrape(t, m)
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"riskmesh_evaluate_items_total", nil, 30},
		{"riskmesh_evaluate_latency_seconds", nil, 3},
		{"riskmesh_peer_requests_served_total", map[string]string{"kind": "evaluate", "status": "ok"}, 2},
		{"riskmesh_peer_requests_served_total", map[string]string{"kind": "evaluate", "status": "batch_too_large"}, 1},
		{"riskmesh_peer_requests_served_total", map[string]string{"kind": "catalog_info", "status": "internal"}, 1},
	}
	for _, c := range checks {
		if got := value(t, fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, fam := range fams {
		for _, s := range fam.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetValue() == who.MSPID {
					t.Errorf("%s carries the peer's MSP id", fam.GetName())
				}
			}
		}
	}
}

func TestInstrumentDo(t *testing.T) {
	m := New(Options{})
	errTransport := errors.New("connection reset")
	tests := []struct {
		resp   *riskmeshv1.PeerResponse
		err    error
		cancel bool
		status string
	}{
		{&riskmeshv1.PeerResponse{}, nil, false, StatusOK},
		{peerError(riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED), &peer.RemoteError{Code: riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED}, false, "rate_limited"},
		{nil, &peer.RemoteError{Code: riskmeshv1.ErrorCode(9999)}, false, StatusUnknown},
		{nil, errTransport, false, StatusTransport},
		{nil, context.Canceled, true, StatusCanceled},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithCancel(t.Context())
		if tt.cancel {
			cancel()
		}
		do := m.InstrumentDo(func(context.Context, *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
			return tt.resp, tt.err
		})
		resp, err := do(ctx, evaluateRequest(1))
		cancel()
		if resp != tt.resp || !errors.Is(err, tt.err) {
			t.Errorf("wrapper changed the result: %v, %v", resp, err)
		}
	}
	fams := scrape(t, m)
	for _, tt := range tests {
		if got := value(t, fams, "riskmesh_provider_requests_total", map[string]string{"kind": "evaluate", "status": tt.status}); got != 1 {
			t.Errorf("provider_requests_total{evaluate,%s} = %v, want 1", tt.status, got)
		}
	}
}

func TestHealthz(t *testing.T) {
	tests := []struct {
		status riskmeshv1.HealthStatus
		code   int
	}{
		{riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING, http.StatusOK},
		{riskmeshv1.HealthStatus_HEALTH_STATUS_DEGRADED, http.StatusOK},
		{riskmeshv1.HealthStatus_HEALTH_STATUS_NOT_SERVING, http.StatusServiceUnavailable},
		{riskmeshv1.HealthStatus_HEALTH_STATUS_UNSPECIFIED, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.status.String(), func(t *testing.T) {
			m := New(Options{Health: func(ctx context.Context) *riskmeshv1.HealthResponse {
				if _, ok := ctx.Deadline(); !ok {
					t.Error("health function called without a deadline")
				}
				return &riskmeshv1.HealthResponse{Status: tt.status, OutboxDepth: 4, Components: []*riskmeshv1.ComponentHealth{
					{Name: "ledger", Status: tt.status, Message: "checked"},
				}}
			}})
			srv := httptest.NewServer(m.Handler())
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.code)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			body, _ := io.ReadAll(resp.Body)
			var got struct {
				Status      string `json:"status"`
				OutboxDepth string `json:"outbox_depth"`
				Components  []struct {
					Name, Status string
				} `json:"components"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if got.Status != tt.status.String() || got.OutboxDepth != "4" || len(got.Components) != 1 || got.Components[0].Name != "ledger" {
				t.Errorf("body %s", body)
			}
		})
	}
	t.Run("default", func(t *testing.T) {
		srv := httptest.NewServer(New(Options{}).Handler())
		defer srv.Close()
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d without a health function, want 200", resp.StatusCode)
		}
	})
	t.Run("post refused", func(t *testing.T) {
		srv := httptest.NewServer(New(Options{}).Handler())
		defer srv.Close()
		resp, err := http.Post(srv.URL+"/healthz", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /healthz: %d", resp.StatusCode)
		}
	})
}
