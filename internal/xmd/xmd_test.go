package xmd

import (
	"bytes"
	"crypto"
	mrand "math/rand/v2"
	"testing"

	"github.com/cloudflare/circl/expander"
)

// TestMatchesCircl checks byte equality with circl's independent
// expand_message_xmd on random tags and messages, including tags over the
// 255-byte bound and messages past the stack buffer. (RFC 9380 publishes no
// SHA-512 vector of 64 bytes; the RFC 9497 vectors in psi/oprf cover this
// expander end to end.)
func TestMatchesCircl(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for i := range 400 {
		dst := random(1 + rng.IntN(300))
		msg := random(rng.IntN(1200))
		x := New(dst)
		var got [Size]byte
		x.Expand(&got, msg)
		want := expander.NewExpanderMD(crypto.SHA512, dst).Expand(msg, Size)
		if !bytes.Equal(got[:], want) {
			t.Fatalf("case %d (dst %d bytes, msg %d bytes): got %x, want %x", i, len(dst), len(msg), got, want)
		}
	}
}

func TestEmptyDSTPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New(nil) did not panic")
		}
	}()
	New(nil)
}

func TestExpandDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool allocate")
	}
	x := New([]byte("riskmesh/v1/test"))
	msg := bytes.Repeat([]byte{7}, 300)
	var out [Size]byte
	if n := testing.AllocsPerRun(100, func() { x.Expand(&out, msg) }); n != 0 {
		t.Fatalf("Expand allocates %.0f times per call, want 0", n)
	}
}

func BenchmarkExpand(b *testing.B) {
	x := New([]byte("riskmesh/v1/bench"))
	msg := []byte("phone:+8613800138000")
	var out [Size]byte
	b.ReportAllocs()
	for b.Loop() {
		x.Expand(&out, msg)
	}
}

func BenchmarkCirclExpand(b *testing.B) {
	x := expander.NewExpanderMD(crypto.SHA512, []byte("riskmesh/v1/bench"))
	msg := []byte("phone:+8613800138000")
	b.ReportAllocs()
	for b.Loop() {
		x.Expand(msg, Size)
	}
}
