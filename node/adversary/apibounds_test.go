package adversary

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// rawCodec sends and receives messages as the bytes a caller wrote, as a
// client running its own code may.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// rawClient is a connection to the API that sends raw bytes.
func rawClient(t testing.TB, socket string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{}), grpc.MaxCallSendMsgSize(1<<30)))
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// rawQuery sends wire as a QueryRequest and returns how the stream ended.
func rawQuery(ctx context.Context, conn *grpc.ClientConn, wire []byte) error {
	s, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, riskmeshv1.RiskMesh_Query_FullMethodName)
	if err != nil {
		return err
	}
	if err := s.SendMsg(&wire); err != nil {
		return err
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	for {
		var out []byte
		if err := s.RecvMsg(&out); err != nil {
			return err
		}
	}
}

// denseQuery is a QueryRequest of size bytes, nearly all empty
// identifiers: 2 bytes each on the wire, the most elements per byte.
func denseQuery(size int) []byte {
	b := protowire.AppendTag(make([]byte, 0, size), 1, protowire.BytesType)
	b = protowire.AppendString(b, Category)
	for len(b)+2 <= size {
		b = protowire.AppendVarint(protowire.AppendTag(b, 2, protowire.BytesType), 0)
	}
	return b
}

// TestAdversaryOversizedAPIRequest: a caller of the business API sends a
// Query of MaxRecvSize bytes made of empty identifiers (about 51 bytes of
// heap each once decoded). The API refuses it before decoding: the node
// allocates a small multiple of the wire size, not fifty, and the
// requester never sees the request. With RISKMESH_SOAK=1 it runs at the
// default limits (a 106 MB request).
func TestAdversaryOversizedAPIRequest(t *testing.T) {
	cfg := api.Config{MaxIdentifiers: 10_000}
	if os.Getenv("RISKMESH_SOAK") != "" {
		cfg.MaxIdentifiers = 0
	}
	n := Start(t, Config{API: cfg})
	conn := rawClient(t, n.Socket)
	size := 106*cfg.MaxIdentifiers + 4096 // just under MaxRecvSize
	if cfg.MaxIdentifiers == 0 {
		size = 105_000_000
	}
	wire := denseQuery(size)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := rawQuery(context.Background(), conn, wire)
	runtime.ReadMemStats(&after)
	if status.Code(err) != codes.Internal || !strings.Contains(status.Convert(err).Message(), "too many elements") {
		t.Fatalf("dense query of %d bytes ended with %v, want a refusal for too many elements", len(wire), err)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("dense query of %d bytes (%d identifiers): refused; the process allocated %d bytes (%.1fx the wire size) sending and refusing it; peak RSS %d MiB",
		len(wire), len(wire)/2, allocated, float64(allocated)/float64(len(wire)), PeakRSS()>>20)
	if allocated > uint64(6*len(wire)) {
		t.Errorf("allocated %d bytes for a %d-byte request: more than 6x", allocated, len(wire))
	}
	list, err := n.API.ListQueries(context.Background(), &riskmeshv1.ListQueriesRequest{})
	if err != nil || len(list.GetQueries()) != 0 {
		t.Fatalf("the requester saw the request: %v, %v", list, err)
	}
	if _, err := n.Query(context.Background(), &riskmeshv1.QueryRequest{Category: Category, Identifiers: Phones(1)}); err != nil {
		t.Fatalf("honest query after the attack: %v", err)
	}
}

// TestAdversaryTooManyQueries: a caller keeps MaxQueries queries running
// (a provider holds them) and opens more: each one more is refused with
// RESOURCE_EXHAUSTED before its request is read, and honest queries run
// again once the held ones end.
func TestAdversaryTooManyQueries(t *testing.T) {
	const held = 2
	n := Start(t, Config{Listings: [][]int{{1}}, API: api.Config{MaxQueries: held}})
	release := make(chan struct{})
	arrived := make(chan struct{}, held)
	n.Providers[0].Intercept(func(ctx context.Context, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		if req.GetEvaluate() != nil {
			arrived <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return nil
	})
	done := make(chan error, held)
	for i := range held {
		// One after the other, so that the requester cannot coalesce
		// them into one exchange.
		go func() {
			_, err := n.Query(context.Background(), &riskmeshv1.QueryRequest{Category: Category, Identifiers: Phones(1, i+10)})
			done <- err
		}()
		select {
		case <-arrived:
		case <-time.After(time.Minute):
			t.Fatal("held queries never reached the provider")
		}
	}
	conn := rawClient(t, n.Socket)
	for range 20 {
		err := rawQuery(context.Background(), conn, denseQuery(64))
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("query beyond MaxQueries ended with %v, want RESOURCE_EXHAUSTED", err)
		}
	}
	close(release)
	for range held {
		if err := <-done; err != nil {
			t.Fatalf("held query: %v", err)
		}
	}
	res, err := n.Query(context.Background(), &riskmeshv1.QueryRequest{Category: Category, Identifiers: Phones(1)})
	if err != nil || len(res.GetItems()[0].GetHits()) != 1 {
		t.Fatalf("honest query after the attack: %v, %v", res, err)
	}
}
