package api_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// A node serves its business API on a unix socket in its data directory;
// a business system on the same host calls it with plain gRPC.
func Example() {
	dir, _ := os.MkdirTemp("", "api-example")
	defer os.RemoveAll(dir)

	svc, err := api.New(api.Config{
		// The daemon passes its requester and provider sides and its
		// health report here; this node has none of them.
		Health: func(context.Context) *riskmeshv1.HealthResponse {
			return &riskmeshv1.HealthResponse{Status: riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING, MspId: "Bank1MSP"}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	sock := filepath.Join(dir, "api.sock")
	l, err := api.ListenUnix(sock)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ctx, l, nil) }()

	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Println(err)
		return
	}
	client := riskmeshv1.NewRiskMeshClient(conn)
	h, err := client.Health(context.Background(), &riskmeshv1.HealthRequest{})
	fmt.Println(h.GetMspId(), h.GetStatus(), err)
	_, err = client.Balance(context.Background(), &riskmeshv1.BalanceRequest{})
	fmt.Println(err)

	conn.Close()
	stop()
	fmt.Println("stopped:", <-served)
	// Output:
	// Bank1MSP HEALTH_STATUS_SERVING <nil>
	// rpc error: code = FailedPrecondition desc = api: this node does not query (no requester side)
	// stopped: <nil>
}
