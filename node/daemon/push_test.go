package daemon_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/riskmesh/riskmesh/node/push"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// hookSecret is the push webhook secret of the network test.
var hookSecret = bytes.Repeat([]byte("k"), push.MinSecretLen)

// pushReceiver is a business system's webhook: it keeps every event whose
// signature verifies.
type pushReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []*riskmeshv1.PushEvent
}

func newPushReceiver(t *testing.T) *pushReceiver {
	t.Helper()
	pr := &pushReceiver{}
	pr.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, push.MaxEventSize))
		if err != nil {
			http.Error(w, "unreadable", http.StatusBadRequest)
			return
		}
		ev, err := push.Verifier{Secrets: [][]byte{hookSecret}}.Verify(r.Header, body)
		if err != nil {
			http.Error(w, "not verified", http.StatusUnauthorized)
			return
		}
		pr.mu.Lock()
		pr.got = append(pr.got, ev)
		pr.mu.Unlock()
	}))
	t.Cleanup(pr.srv.Close)
	return pr
}

// destination is a push destination sending every event to the receiver.
func (pr *pushReceiver) destination(t *testing.T) push.Destination {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(pr.srv.Certificate())
	hook, err := push.NewWebhook(push.WebhookConfig{URL: pr.srv.URL, Secret: hookSecret, TLS: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	return push.Destination{Name: "core-banking", Sender: hook}
}

// events returns the events received of type typ.
func (pr *pushReceiver) events(typ riskmeshv1.PushEventType) []*riskmeshv1.PushEvent {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	var out []*riskmeshv1.PushEvent
	for _, ev := range pr.got {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}
