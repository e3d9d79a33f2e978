package peer

import (
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestBucket(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	b := newBucket(2, 3) // 2 per second, burst 3
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
	// A bucket that never refills says so once it is empty.
	never := newBucket(0, 1)
	never.take(start)
	if ok, wait := never.take(start.Add(time.Hour)); ok || wait != rate.InfDuration {
		t.Fatalf("empty bucket of rate 0: %v, wait %v, want refused for ever", ok, wait)
	}
}

// BenchmarkBucket is the per-peer rate limit on the request path: a take
// that is allowed (every request of a peer within its rate), one refused
// with its wait, and allowed takes from a peer's parallel streams at the
// server's clock.
func BenchmarkBucket(b *testing.B) {
	start := time.Unix(1_700_000_000, 0)
	b.Run("Take/allowed", func(b *testing.B) {
		bk := newBucket(1e9, 1<<30)
		now := start
		b.ReportAllocs()
		for b.Loop() {
			now = now.Add(time.Microsecond)
			if ok, _ := bk.take(now); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("Take/refused", func(b *testing.B) {
		bk := newBucket(1, 1)
		bk.take(start)
		b.ReportAllocs()
		for b.Loop() {
			if ok, _ := bk.take(start); ok {
				b.Fatal("allowed")
			}
		}
	})
	b.Run("Take/parallel", func(b *testing.B) {
		bk := newBucket(1e12, 1<<30)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				bk.take(time.Now())
			}
		})
	})
}
