package fabric

import (
	"context"
	"errors"
	"testing"
	"time"
)

func testClient(maxAttempts int) *Client {
	c := &Client{cfg: Config{MaxAttempts: maxAttempts, Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}}
	c.life, c.end = context.WithCancel(context.Background())
	return c
}

func TestRetry(t *testing.T) {
	errRetry := &TxError{Phase: PhaseCommit, Err: errors.New("conflict")}
	tests := []struct {
		name         string
		failures     int  // op fails this many times, then succeeds
		retryable    bool // whether op asks for a retry
		wantAttempts int
		wantErr      bool
	}{
		{"success first time", 0, true, 1, false},
		{"retryable then success", 2, true, 3, false},
		{"retryable until the bound", 100, true, 5, true},
		{"not retryable", 100, false, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testClient(5)
			attempts := 0
			err := c.retry(context.Background(), func(int) (bool, error) {
				attempts++
				if attempts <= tt.failures {
					return tt.retryable, errRetry
				}
				return false, nil
			})
			if attempts != tt.wantAttempts || (err != nil) != tt.wantErr {
				t.Fatalf("attempts = %d, err = %v; want %d attempts, error %v", attempts, err, tt.wantAttempts, tt.wantErr)
			}
			if tt.wantErr {
				var txErr *TxError
				if !errors.As(err, &txErr) || txErr.Attempts != tt.wantAttempts {
					t.Fatalf("err = %v, want *TxError with %d attempts", err, tt.wantAttempts)
				}
			}
		})
	}
}

func TestRetryStopsOnContextAndClose(t *testing.T) {
	t.Run("context", func(t *testing.T) {
		c := testClient(1000)
		c.cfg.Backoff, c.cfg.MaxBackoff = time.Hour, time.Hour
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		err := c.retry(ctx, func(int) (bool, error) { return true, errors.New("unavailable") })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
	})
	t.Run("close", func(t *testing.T) {
		c := testClient(1000)
		c.cfg.Backoff, c.cfg.MaxBackoff = time.Hour, time.Hour
		c.end()
		err := c.retry(context.Background(), func(int) (bool, error) { return true, errors.New("unavailable") })
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
	})
}

func TestConfigDefaults(t *testing.T) {
	t.Run("required fields", func(t *testing.T) {
		var c Config
		if err := c.setDefaults(); !errors.Is(err, ErrConfig) {
			t.Fatalf("err = %v, want ErrConfig", err)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		c := Config{MSPID: "Bank1MSP", PeerAddress: "127.0.0.1:7051", TLSRootCert: []byte("x"), Certificate: []byte("x"), PrivateKey: []byte("x")}
		if err := c.setDefaults(); err != nil {
			t.Fatal(err)
		}
		if c.ServerName != "127.0.0.1" || c.Channel != DefaultChannel || c.MaxInFlight != DefaultMaxInFlight || c.CommitStatusTimeout != DefaultCommitStatusTimeout {
			t.Fatalf("defaults not applied: %+v", c)
		}
	})
}
