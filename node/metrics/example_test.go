package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	"github.com/riskmesh/riskmesh/node/metrics"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

func Example() {
	m := metrics.New(metrics.Options{
		OutboxDepth: func() int { return 3 },
		Health: func(context.Context) *riskmeshv1.HealthResponse {
			return &riskmeshv1.HealthResponse{Status: riskmeshv1.HealthStatus_HEALTH_STATUS_DEGRADED}
		},
	})
	// The daemon wraps its requester's Query so every query is counted.
	query := m.InstrumentQuery(func(context.Context, *riskmeshv1.QueryRequest, func(*riskmeshv1.QueryEvent) error) error {
		return nil
	})
	_ = query(context.Background(), &riskmeshv1.QueryRequest{Identifiers: make([]*riskmeshv1.Identifier, 2)}, nil)

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "riskmesh_outbox_depth ") || strings.HasPrefix(line, "riskmesh_query_items_total ") {
			fmt.Println(line)
		}
	}
	resp, err = srv.Client().Get(srv.URL + "/healthz")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println("healthz", resp.StatusCode)
	// Output:
	// riskmesh_outbox_depth 3
	// riskmesh_query_items_total 2
	// healthz 200
}
