package peer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// TestRestartedServerResetsOldConnections plays a provider killed without
// a word (its socket gone, no close frames sent) and started again on the
// same address. With the same stateless reset key, the client's next
// request on its old connection is answered by a stateless reset, so it
// redials at once; without one, that request waits out its deadline (the
// idle timeout, 60 s by default, when it has none).
func TestRestartedServerResetsOldConnections(t *testing.T) {
	tests := []struct {
		name string
		key  *quic.StatelessResetKey
	}{
		{"same reset key", &quic.StatelessResetKey{1, 2, 3}},
		{"no reset key", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, echoHandler, func(c *Config) { c.StatelessResetKey = tt.key })
			c, err := f.dial(t, f.clientCert)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Do(t.Context(), infoRequest()); err != nil {
				t.Fatal(err)
			}
			addr := f.server.Addr().String()
			_ = f.server.udp.Close() // the crash: no close frame leaves

			restarted, err := Listen(t.Context(), addr, Config{Certificate: f.serverCert, Authorizer: f.reg,
				Handler: echoHandler, StatelessResetKey: tt.key})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = restarted.Close() })

			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			_, err = c.Do(ctx, infoRequest())
			var reset *quic.StatelessResetError
			if tt.key != nil {
				if !errors.As(err, &reset) {
					t.Fatalf("request on the old connection: %v, want a stateless reset", err)
				}
				// The client redials and the restarted server answers.
				again, err := Dial(t.Context(), addr, Config{Certificate: f.clientCert, Authorizer: f.reg})
				if err != nil {
					t.Fatal(err)
				}
				defer again.Close()
				if _, err := again.Do(t.Context(), infoRequest()); err != nil {
					t.Fatalf("request after redialling: %v", err)
				}
				return
			}
			if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &reset) {
				t.Fatalf("request on the old connection without a reset key: %v, want its deadline", err)
			}
		})
	}
}
