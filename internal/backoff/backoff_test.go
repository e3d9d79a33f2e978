package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{{0, 100}, {1, 100}, {2, 200}, {3, 400}, {4, 800}, {5, 1000}, {60, 1000}} {
		if got := Delay(100, 1000, tc.failures); got != tc.want {
			t.Errorf("Delay(100, 1000, %d) = %d, want %d", tc.failures, got, tc.want)
		}
	}
	if got := Delay(0, time.Second, 5); got != 0 {
		t.Errorf("a zero base stays zero, got %v", got)
	}
}

func TestJitter(t *testing.T) {
	for range 1000 {
		if got := Jitter(100); got < 50 || got > 100 {
			t.Fatalf("Jitter(100) = %d, want within [50, 100]", got)
		}
	}
	if got := Jitter(0); got != 0 {
		t.Fatalf("Jitter(0) = %v", got)
	}
}

func TestSleep(t *testing.T) {
	if err := Sleep(t.Context(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep after cancel = %v", err)
	}
}
