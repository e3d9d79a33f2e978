package push_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/riskmesh/riskmesh/node/push"
)

// A business system's webhook handler: verify, de-duplicate by event id,
// apply, then answer 2xx. Anything but 2xx makes the node send the event
// again later.
func ExampleVerifier() {
	secret := bytes.Repeat([]byte{7}, push.MinSecretLen) // read from the file node.yaml names
	verifier := push.Verifier{Secrets: [][]byte{secret}}
	applied := map[string]bool{} // a table keyed by event id in a real system
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, push.MaxEventSize))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		ev, err := verifier.Verify(r.Header, body)
		if err != nil {
			http.Error(w, "not from our node", http.StatusUnauthorized)
			return
		}
		if applied[ev.EventId] {
			return // a redelivery: already applied, acknowledge again
		}
		applied[ev.EventId] = true
		fmt.Printf("%s #%d of %s: %s\n", ev.Type, ev.StreamSequence, ev.Stream, ev.GetProviderResult().GetProvider())
	})

	// What the node sends, twice (a lost acknowledgement).
	body := []byte(`{"event_id":"5d0c3a1e9b7f4c2d8e6a0b1c3d5e7f90","type":"PUSH_EVENT_TYPE_PROVIDER_RESULT",` +
		`"stream":"9f1e2d3c4b5a69788796a5b4c3d2e1f0","stream_sequence":"1","query_id":"9f1e2d3c4b5a69788796a5b4c3d2e1f0",` +
		`"provider_result":{"provider":"Bank2MSP","status":"PROVIDER_STATUS_ANSWERED"}}`)
	for range 2 {
		ts, sig := push.Sign(secret, time.Now(), body)
		req := httptest.NewRequest(http.MethodPost, "/riskmesh/events", bytes.NewReader(body))
		req.Header.Set(push.HeaderEventID, "5d0c3a1e9b7f4c2d8e6a0b1c3d5e7f90")
		req.Header.Set(push.HeaderTimestamp, ts)
		req.Header.Set(push.HeaderSignature, sig)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// PUSH_EVENT_TYPE_PROVIDER_RESULT #1 of 9f1e2d3c4b5a69788796a5b4c3d2e1f0: Bank2MSP
	// 200
	// 200
}
