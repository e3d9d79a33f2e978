package adversary

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/internal/testwait"
	"github.com/riskmesh/riskmesh/internal/workers"
	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Soak sizes: what make test runs, and what RISKMESH_SOAK=1 runs
// (docs/benchmarks.md, "Soak"). Half the messages go to the providers'
// QUIC listeners, half to the requester's API.
const (
	soakMessages       = 4000
	soakTime           = time.Minute
	soakFullMessages   = 1_000_000
	soakFullTime       = 2 * time.Hour
	soakPeerWorkers    = peer.DefaultMaxConnsPerPeer // connections per provider
	soakStreams        = 6                           // concurrent streams per connection
	soakAPIWorkers     = 4                           // fewer than api.DefaultMaxQueries: honest queries always get a slot
	soakHonestIDs      = 4
	soakMaxIdentifiers = 1000
	// soakGoroutineSlack is how many more goroutines than before the
	// flood may remain: idle pooled connections and their timers, and the
	// process's idle workers (internal/workers), which the flood's streams
	// leave waiting for the next request.
	soakGoroutineSlack = 32 + workers.DefaultIdle
)

// TestAdversarySoak floods the providers' real QUIC listeners with
// malformed peer messages and the requester's real API with malformed
// requests from a registered member's own code, while honest queries run
// through the API. Every honest query must come back with exactly the
// right hits from both providers; the process must not panic (a panic in
// any node goroutine ends the test binary); every malformed peer message
// must be answered with a refusal or a reset, never an answer; and nothing
// the flood started may outlive it (goroutine count). With
// RISKMESH_SOAK=1 it sends 10^6 messages and logs the figures
// docs/benchmarks.md reports.
func TestAdversarySoak(t *testing.T) {
	total, within := soakMessages, soakTime
	if os.Getenv("RISKMESH_SOAK") != "" {
		total, within = soakFullMessages, soakFullTime
	}
	n := Start(t, Config{
		Listings: [][]int{{1, 2}, {2, 3}},
		PeerRate: 1e6, // every malformed message is parsed, not rate limited
		API:      api.Config{MaxIdentifiers: soakMaxIdentifiers},
	})
	mallory := n.Member("ZMalloryMSP")
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	start, goroutines := time.Now(), runtime.NumGoroutine()

	var peerSent, apiSent, peerAnswered atomic.Int64
	var wg sync.WaitGroup
	attackers := make(chan struct{})
	for _, p := range n.Providers {
		for w := range soakPeerWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				floodPeer(ctx, t, mallory, p.Addr(), uint64(w), int64(total/2), &peerSent, &peerAnswered)
			}()
		}
	}
	conn := rawClient(t, n.Socket)
	for w := range soakAPIWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			floodAPI(ctx, conn, uint64(w), int64(total-total/2), &apiSent)
		}()
	}
	go func() {
		wg.Wait()
		close(attackers)
	}()

	honest, refused := 0, 0
	for done := false; !done; {
		select {
		case <-attackers:
			done = true
		default:
		}
		res, err := n.Query(context.Background(), &riskmeshv1.QueryRequest{Category: Category, Identifiers: Phones(1, 2, 3, 4)})
		if status.Code(err) == codes.ResourceExhausted {
			refused++
			continue
		}
		if err != nil {
			t.Fatalf("honest query %d: %v", honest+1, err)
		}
		checkSoakAnswer(t, res)
		honest++
	}
	elapsed := time.Since(start)
	if peerSent.Load() < int64(total/2) || apiSent.Load() < int64(total-total/2) {
		t.Fatalf("sent %d peer messages and %d API requests of %d within %v", peerSent.Load(), apiSent.Load(), total, within)
	}
	if honest == 0 || refused > 0 {
		t.Fatalf("%d honest queries answered, %d refused for lack of a slot", honest, refused)
	}
	// Nothing the flood started outlives it (connections close
	// asynchronously, hence the wait).
	testwait.Until(t, "the flood's goroutines end", 30*time.Second, func() error {
		if g := runtime.NumGoroutine(); g > goroutines+soakGoroutineSlack {
			return fmt.Errorf("%d goroutines, %d before the flood", g, goroutines)
		}
		return nil
	})
	t.Logf("soak: %d malformed peer messages (%d refused with a PeerError frame) and %d malformed API requests in %v, "+
		"%d honest queries all correct, 0 panics; peak RSS %d MiB, %d goroutines before the flood and %d after, GOMAXPROCS %d",
		min(peerSent.Load(), int64(total/2)), peerAnswered.Load(), min(apiSent.Load(), int64(total-total/2)), elapsed.Round(time.Second), honest, PeakRSS()>>20,
		goroutines, runtime.NumGoroutine(), runtime.GOMAXPROCS(0))
}

// checkSoakAnswer checks an honest query of phones 1..4: P1MSP lists 1
// and 2, P2MSP 2 and 3, both answered.
func checkSoakAnswer(t *testing.T, res *riskmeshv1.QueryResult) {
	t.Helper()
	want := []string{"P1MSP", "P1MSP,P2MSP", "P2MSP", ""}
	if len(res.GetItems()) != soakHonestIDs {
		t.Fatalf("%d items", len(res.GetItems()))
	}
	for i, it := range res.GetItems() {
		var got []string
		for _, h := range it.GetHits() {
			got = append(got, h.GetProvider())
		}
		if g := strings.Join(got, ","); g != want[i] {
			t.Fatalf("honest item %d: hits %q, want %q", i, g, want[i])
		}
	}
	for _, p := range res.GetProviders() {
		if p.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
			t.Fatalf("honest query: %s %v (%s)", p.GetProvider(), p.GetStatus(), p.GetError().GetMessage())
		}
	}
}

// floodPeer sends malformed peer messages to addr, one stream each, over a
// connection authenticated with m's certificate and soakStreams streams at
// a time, until sent reaches limit or ctx ends; answered counts the
// refusals received as PeerError frames. An answer that is not a refusal
// fails the test.
func floodPeer(ctx context.Context, t *testing.T, m *Member, addr string, seed uint64, limit int64, sent, answered *atomic.Int64) {
	tlsConf := &tls.Config{
		Certificates: []tls.Certificate{m.Cert}, NextProtos: []string{peer.ALPN},
		InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, // the attacker does not care whom it floods
	}
	for round := uint64(0); ctx.Err() == nil && sent.Load() < limit; round++ {
		conn, err := quic.DialAddr(ctx, addr, tlsConf, &quic.Config{MaxIdleTimeout: 10 * time.Second})
		if err != nil {
			continue
		}
		var wg sync.WaitGroup
		for s := range uint64(soakStreams) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(seed, round<<8|s))
				for conn.Context().Err() == nil && ctx.Err() == nil && sent.Add(1) <= limit {
					resp, err := malformedExchange(ctx, conn, malformedFrame(rng))
					if err != nil {
						continue // a reset stream or a closed connection is a refusal too
					}
					if resp.GetError() == nil {
						t.Errorf("malformed peer message answered with %T", resp.GetBody())
						return
					}
					answered.Add(1)
				}
			}()
		}
		wg.Wait()
		conn.CloseWithError(0, "")
	}
}

// malformedExchange writes frame on a new stream and reads the reply.
func malformedExchange(ctx context.Context, conn *quic.Conn, frame []byte) (*riskmeshv1.PeerResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	defer str.CancelRead(0)
	_ = str.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := str.Write(frame); err != nil {
		return nil, err
	}
	_ = str.Close()
	resp := new(riskmeshv1.PeerResponse)
	return resp, peer.ReadFrame(str, resp, riskmeshv1.MaxPeerErrorSize)
}

// malformedFrame is one malformed peer message: a frame header that lies,
// undecodable bodies, or well-formed requests whose contents are garbage.
func malformedFrame(rng *rand.Rand) []byte {
	random := func(n int) []byte { return randomBytes(rng, n) }
	frame := func(body []byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
	}
	msg := func(m proto.Message) []byte {
		b, _ := proto.Marshal(m)
		return frame(b)
	}
	switch rng.IntN(8) {
	case 0:
		return frame(random(1 + rng.IntN(200)))
	case 1: // a length far above any bound
		return binary.BigEndian.AppendUint32(nil, 1<<31|rng.Uint32())
	case 2: // an empty frame
		return []byte{0, 0, 0, 0}
	case 3: // a frame cut short
		return append(binary.BigEndian.AppendUint32(nil, 500), random(10)...)
	case 4:
		return msg(&riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_Evaluate{Evaluate: &riskmeshv1.EvaluateRequest{
			Header: random(rng.IntN(120)), Blinded: random(32 * rng.IntN(4)), RequesterSignature: random(rng.IntN(80)),
		}}})
	case 5:
		return msg(&riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogDownload{CatalogDownload: &riskmeshv1.CatalogDownloadRequest{
			Category: string(random(rng.IntN(8))), Period: rng.Uint64(), Offset: rng.Uint64(), MaxChunk: rng.Uint32(),
		}}})
	case 6: // no body: only an unknown field
		return frame([]byte{0xf8, 0x07, 0x01})
	default: // a valid request type that never opens a stream
		return msg(&riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_EcdhReturn{EcdhReturn: &riskmeshv1.ECDHReturn{Message: random(40)}}})
	}
}

// apiMethods are the unary methods floodAPI calls; Query is a stream.
var apiMethods = []string{
	riskmeshv1.RiskMesh_GetQuery_FullMethodName,
	riskmeshv1.RiskMesh_ListQueries_FullMethodName,
	riskmeshv1.RiskMesh_Providers_FullMethodName,
	riskmeshv1.RiskMesh_Balance_FullMethodName,
	riskmeshv1.RiskMesh_GetTranscript_FullMethodName,
	riskmeshv1.RiskMesh_ImportList_FullMethodName,
	riskmeshv1.RiskMesh_RefreshLists_FullMethodName,
	riskmeshv1.RiskMesh_Health_FullMethodName,
}

// floodAPI sends malformed requests to the API over conn until sent
// reaches limit or ctx ends. Whatever the node answers is fine; what
// counts is that it keeps answering the honest queries.
func floodAPI(ctx context.Context, conn *grpc.ClientConn, seed uint64, limit int64, sent *atomic.Int64) {
	rng := rand.New(rand.NewPCG(seed, 0xa11))
	for ctx.Err() == nil && sent.Add(1) <= limit {
		wire := malformedRequest(rng)
		callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if rng.IntN(4) == 0 {
			_ = rawQuery(callCtx, conn, wire)
		} else {
			var out []byte
			_ = conn.Invoke(callCtx, apiMethods[rng.IntN(len(apiMethods))], &wire, &out)
		}
		cancel()
	}
}

// malformedRequest is one malformed API request body: random bytes, dense
// or oversized queries, or well-formed requests with garbage contents.
func malformedRequest(rng *rand.Rand) []byte {
	random := func(n int) []byte { return randomBytes(rng, n) }
	msg := func(m proto.Message) []byte {
		b, _ := proto.Marshal(m)
		return b
	}
	switch rng.IntN(7) {
	case 0:
		return random(rng.IntN(300))
	case 1: // more identifiers than the limit, densely
		return denseQuery(2*soakMaxIdentifiers*3 + rng.IntN(5000))
	case 2: // a query past every identifier bound
		if rng.IntN(100) == 0 {
			return denseQuery(soakMaxIdentifiers*1100 + 1<<20) // above MaxRecvSize
		}
		return msg(&riskmeshv1.QueryRequest{Category: Category, Identifiers: []*riskmeshv1.Identifier{{Value: string(random(2000))}}})
	case 3:
		return msg(&riskmeshv1.QueryRequest{Category: string(random(rng.IntN(20))), Identifiers: Phones(1),
			Providers: []string{string(random(rng.IntN(200)))}, ClientRequestId: string(random(rng.IntN(100)))})
	case 4:
		return msg(&riskmeshv1.GetQueryRequest{QueryId: string(random(rng.IntN(64)))})
	case 5:
		return msg(&riskmeshv1.ListQueriesRequest{PageToken: string(random(rng.IntN(64))), PageSize: rng.Uint32()})
	default:
		return msg(&riskmeshv1.GetTranscriptRequest{Period: rng.Uint64(), Responder: string(random(rng.IntN(130))), Sequence: rng.Uint64()})
	}
}

// randomBytes is n bytes from rng.
func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
