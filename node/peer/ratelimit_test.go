package peer

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	b := newBucket(2, 3, start) // 2 per second, burst 3
	for i := range 3 {
		if ok, _ := b.take(start); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := b.take(start)
	if ok {
		t.Fatal("request beyond the burst accepted")
	}
	if wait != 500*time.Millisecond {
		t.Fatalf("wait = %v, want 500ms at 2 per second", wait)
	}
	if ok, _ := b.take(start.Add(500 * time.Millisecond)); !ok {
		t.Fatal("request refused after the refill interval")
	}
	if ok, _ := b.take(start.Add(500 * time.Millisecond)); ok {
		t.Fatal("second request accepted with one token refilled")
	}
	if ok, _ := b.take(start.Add(time.Hour)); !ok {
		t.Fatal("request refused after a long pause")
	}
	// A long pause refills to the burst, not beyond.
	for range 2 {
		b.take(start.Add(time.Hour))
	}
	if ok, _ := b.take(start.Add(time.Hour)); ok {
		t.Fatal("bucket held more than its burst")
	}
	// A clock going backwards neither refills nor panics.
	if ok, _ := b.take(start); ok {
		t.Fatal("clock going backwards refilled the bucket")
	}
}
