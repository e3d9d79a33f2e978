package push

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// testSecret is the webhook secret of the tests.
var testSecret = bytes.Repeat([]byte{0x5a}, MinSecretLen)

// receiver is a business system's webhook endpoint: it verifies each
// request, keeps every delivery it accepted in arrival order, and answers
// with the status its reject function chooses (200 if nil).
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	caFile string

	mu       sync.Mutex
	got      []*riskmeshv1.PushEvent // every accepted delivery, duplicates included
	bodies   map[string][]byte       // first body per event id
	bad      int                     // requests that did not verify
	reject   func(*riskmeshv1.PushEvent) int
	received chan struct{} // signalled on each accepted delivery
}

func newReceiver(t testing.TB) *receiver {
	t.Helper()
	rc := &receiver{t: t, bodies: map[string][]byte{}, received: make(chan struct{}, 1)}
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(rc.handle))
	rc.srv.Config.ErrorLog = quiet // a stopped receiver's broken handshakes are the point
	rc.srv.StartTLS()
	t.Cleanup(func() { rc.srv.Close() })
	rc.caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rc.srv.Certificate().Raw})
	if err := os.WriteFile(rc.caFile, pemCert, 0o600); err != nil {
		t.Fatal(err)
	}
	return rc
}

// stop closes the server abruptly: requests in flight lose their answer.
func (rc *receiver) stop() {
	rc.srv.CloseClientConnections()
	rc.srv.Close()
}

// restart serves again on the same address after a stop.
func (rc *receiver) restart() error {
	l, err := net.Listen("tcp", rc.srv.Listener.Addr().String())
	if err != nil {
		return err
	}
	cert := rc.srv.TLS.Certificates
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(rc.handle))
	rc.srv.Listener.Close()
	rc.srv.Listener = l
	rc.srv.Config.ErrorLog = quiet
	rc.srv.TLS = &tls.Config{Certificates: cert}
	rc.srv.StartTLS()
	return nil
}

var quiet = log.New(io.Discard, "", 0)

func (rc *receiver) handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxEventSize))
	if err != nil {
		http.Error(w, "unreadable", http.StatusBadRequest)
		return
	}
	ev, err := Verifier{Secrets: [][]byte{testSecret}}.Verify(r.Header, body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if rc.reject != nil {
		if code := rc.reject(ev); code != 0 {
			http.Error(w, "refused", code)
			return
		}
	}
	rc.got = append(rc.got, ev)
	if _, ok := rc.bodies[ev.EventId]; !ok {
		rc.bodies[ev.EventId] = body
	}
	select {
	case rc.received <- struct{}{}:
	default:
	}
}

func (rc *receiver) url() string { return rc.srv.URL + "/riskmesh/events" }

func (rc *receiver) webhook(t testing.TB) *Webhook {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(rc.srv.Certificate())
	w, err := NewWebhook(WebhookConfig{URL: rc.url(), Secret: testSecret, TLS: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// deliveries returns the accepted deliveries so far.
func (rc *receiver) deliveries() []*riskmeshv1.PushEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*riskmeshv1.PushEvent(nil), rc.got...)
}

// firsts returns, per stream, the stream sequences of the first delivery
// of each event id, in arrival order, and checks every later copy of an
// id against its first.
func firsts(t testing.TB, got []*riskmeshv1.PushEvent) map[string][]uint64 {
	t.Helper()
	seen := map[string]*riskmeshv1.PushEvent{}
	out := map[string][]uint64{}
	for _, ev := range got {
		if first, ok := seen[ev.EventId]; ok {
			if !proto.Equal(first, ev) {
				t.Errorf("event %s delivered with different content:\n%v\n%v", ev.EventId, first, ev)
			}
			continue
		}
		seen[ev.EventId] = ev
		out[ev.Stream] = append(out[ev.Stream], ev.StreamSequence)
	}
	return out
}

// openDB opens a bbolt file in dir.
func openDB(t testing.TB, dir string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "node.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// record journals ev in its own transaction, as the requester's store
// does beside the change.
func record(t testing.TB, o *Outbox, ev *riskmeshv1.PushEvent) *riskmeshv1.PushEvent {
	t.Helper()
	err := o.cfg.DB.Update(func(tx *bolt.Tx) error { return o.RecordTx(tx, ev) })
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// providerPart is a query event of query id.
func providerPart(id, provider string, amount int64) *riskmeshv1.PushEvent {
	return &riskmeshv1.PushEvent{Type: riskmeshv1.PushEventType_PUSH_EVENT_TYPE_PROVIDER_RESULT, QueryId: id, Category: "fraud",
		ProviderResult: &riskmeshv1.ProviderResult{Provider: provider, Status: riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED, Amount: amount}}
}

// tlsWithCA trusts the CA certificate in file, nil if it cannot be read
// (the connection then fails, which the caller sees).
func tlsWithCA(file string) *tls.Config {
	pool := x509.NewCertPool()
	if data, err := os.ReadFile(file); err == nil {
		pool.AppendCertsFromPEM(data)
	}
	return &tls.Config{RootCAs: pool}
}
