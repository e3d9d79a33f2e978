package nodetest

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/node/push"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// pushHook is a business system's webhook for a node process: it keeps
// every event whose signature verifies, and can be stopped abruptly and
// started again on its address.
type pushHook struct {
	secret []byte
	srv    *httptest.Server
	cert   []byte // its certificate, DER

	mu  sync.Mutex
	got []*riskmeshv1.PushEvent
}

func newPushHook(t *testing.T) *pushHook {
	t.Helper()
	h := &pushHook{secret: bytes.Repeat([]byte("n"), push.MinSecretLen)}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(h.handle))
	h.cert = h.srv.Certificate().Raw
	t.Cleanup(func() { h.srv.Close() })
	return h
}

func (h *pushHook) handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, push.MaxEventSize))
	if err != nil {
		http.Error(w, "unreadable", http.StatusBadRequest)
		return
	}
	ev, err := push.Verifier{Secrets: [][]byte{h.secret}}.Verify(r.Header, body)
	if err != nil {
		http.Error(w, "not verified", http.StatusUnauthorized)
		return
	}
	h.mu.Lock()
	h.got = append(h.got, ev)
	h.mu.Unlock()
}

// config writes the hook's secret and CA into dir and returns node.yaml's
// push section for it.
func (h *pushHook) config(t *testing.T, dir string) string {
	t.Helper()
	writeFile(t, filepath.Join(dir, "hook.secret"), string(h.secret))
	writeFile(t, filepath.Join(dir, "hook-ca.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.cert})))
	return fmt.Sprintf(`push:
  min_backoff: 20ms
  max_backoff: 500ms
  destinations:
    - name: core-banking
      webhook: {url: %q, secret_file: hook.secret, ca_file: hook-ca.pem}
`, h.srv.URL+"/events")
}

// stop closes the hook abruptly; restart serves again on its address.
func (h *pushHook) stop() {
	h.srv.CloseClientConnections()
	h.srv.Close()
}

func (h *pushHook) restart(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", h.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg := h.srv.TLS
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(h.handle))
	h.srv.Listener.Close()
	h.srv.Listener, h.srv.TLS = l, tlsCfg
	h.srv.StartTLS()
}

func (h *pushHook) events() []*riskmeshv1.PushEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*riskmeshv1.PushEvent(nil), h.got...)
}

// pushAcrossKills runs queries on in's node while the node is killed with
// SIGKILL, and the webhook stopped, at random moments; then every query
// the node stored has its events on the webhook: each event identical in
// every copy, the first copies of a query's events in stream order, and
// the latest result pushed equal to what GetQuery returns.
func pushAcrossKills(t *testing.T, in *institution, hook *pushHook, procs []*process) {
	seed := rand.Uint64()
	t.Logf("push kills: seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 1))
	for round := range 3 {
		api := apiClient(t, in.socket())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ctx.Err() == nil {
				// Errors are expected: the node dies under the stream.
				stream, err := api.Query(ctx, &riskmeshv1.QueryRequest{Category: category, Identifiers: []*riskmeshv1.Identifier{
					{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: phoneA},
					{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: phoneAB}},
					Providers: []string{"Bank1MSP"}}) // Bank2 is down by now
				for err == nil {
					_, err = stream.Recv()
				}
				if err != io.EOF {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
		time.Sleep(time.Duration(300+rnd.IntN(700)) * time.Millisecond)
		hookDown := round != 1
		if hookDown {
			hook.stop()
		}
		time.Sleep(time.Duration(rnd.IntN(200)) * time.Millisecond)
		in.proc.kill(t)
		cancel()
		<-done
		if hookDown {
			hook.restart(t)
		}
		in.proc = startNode(t, fmt.Sprintf("%s (restart %d)", in.msp, round+1), in.config(), fmt.Sprintf("%s.push%d", in.logFile(), round))
		procs = append(procs, in.proc)
	}

	api := apiClient(t, in.socket())
	var list *riskmeshv1.ListQueriesResponse
	eventually(t, "restarted node serves its API", procs, func() error {
		var err error
		list, err = api.ListQueries(context.Background(), &riskmeshv1.ListQueriesRequest{PageSize: 1000})
		return err
	})
	eventually(t, "every stored query's result pushed", procs, func() error {
		latest := map[string]*riskmeshv1.PushEvent{}
		for _, ev := range hook.events() {
			if ev.Result != nil && (latest[ev.QueryId] == nil || ev.StreamSequence > latest[ev.QueryId].StreamSequence) {
				latest[ev.QueryId] = ev
			}
		}
		for _, q := range list.GetQueries() {
			rec, err := api.GetQuery(context.Background(), &riskmeshv1.GetQueryRequest{QueryId: q.GetQueryId()})
			if err != nil {
				return err
			}
			if rec.GetState() == riskmeshv1.QueryState_QUERY_STATE_RUNNING {
				return fmt.Errorf("query %s still running", q.GetQueryId())
			}
			if ev := latest[q.GetQueryId()]; ev == nil || !proto.Equal(ev.Result, rec.GetResult()) {
				return fmt.Errorf("query %s: latest pushed result %v, stored %v", q.GetQueryId(), ev.GetResult(), rec.GetResult())
			}
		}
		return nil
	})
	first := map[string]*riskmeshv1.PushEvent{}
	last := map[string]uint64{}
	for _, ev := range hook.events() {
		if f, ok := first[ev.EventId]; ok {
			if !proto.Equal(f, ev) {
				t.Fatalf("event %s pushed with different content:\n%v\n%v", ev.EventId, f, ev)
			}
			continue
		}
		first[ev.EventId] = ev
		if ev.StreamSequence <= last[ev.Stream] {
			t.Fatalf("stream %s: event #%d first pushed after #%d", ev.Stream, ev.StreamSequence, last[ev.Stream])
		}
		last[ev.Stream] = ev.StreamSequence
	}
	t.Logf("push kills: %d queries stored, %d events, %d deliveries", len(list.GetQueries()), len(first), len(hook.events()))
}
