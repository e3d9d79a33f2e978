package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// HealthFunc reports the node's components (the same function answers the
// business API's Health call).
type HealthFunc func(ctx context.Context) *riskmeshv1.HealthResponse

// healthTimeout bounds one HealthFunc call.
const healthTimeout = 5 * time.Second

// Handler serves GET /metrics (the Prometheus text or protobuf format, as
// the scraper asks) and GET /healthz.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A failing collector is left out of the scrape instead of
		// failing it as a whole.
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", m.serveHealth)
	return mux
}

// serveHealth answers the report with 200 while the node is SERVING or
// DEGRADED and 503 otherwise: a readiness check. A node whose ledger was
// never reached answers 503, which a restart would not mend, so liveness
// is probed on the listener itself (docs/operations.md, "Monitoring").
func (m *Metrics) serveHealth(w http.ResponseWriter, r *http.Request) {
	resp := &riskmeshv1.HealthResponse{Status: riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING}
	if m.health != nil {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		resp = m.health(ctx)
		cancel()
	}
	body, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(resp)
	if err != nil {
		http.Error(w, "encode health", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	switch resp.GetStatus() {
	case riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING, riskmeshv1.HealthStatus_HEALTH_STATUS_DEGRADED:
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	w.Write(append(body, '\n'))
}
