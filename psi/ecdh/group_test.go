package ecdh

import (
	"encoding/hex"
	"errors"
	"testing"

	"filippo.io/edwards25519"
	"github.com/cloudflare/circl/group"
)

// The hash to the group must be RFC 9380's hash_to_ristretto255. circl's
// group package implements it over an independent ristretto255 code base.
func TestHashToGroupMatchesCircl(t *testing.T) {
	items := []string{"", "a", "phone:+8613800138000", "idcard:11010519491231002X", string(make([]byte, 300))}
	for _, context := range []string{"", "session 1", "riskmesh|blacklist|2026-01-01|bankA|bankB|42"} {
		sid := NewSessionID([]byte(context))
		h := newHasher(sid)
		dst := append([]byte(labelHashToGroup), sid[:]...)
		for _, item := range items {
			t.Run(context+"/"+hex.EncodeToString([]byte(item))[:min(16, 2*len(item))], func(t *testing.T) {
				var e edwards25519.Point
				if err := h.hash(&e, []byte(item)); err != nil {
					t.Fatal(err)
				}
				var got Point
				encodePoint(&got, &e)
				want, err := group.Ristretto255.HashToElement([]byte(item), dst).MarshalBinaryCompress()
				if err != nil {
					t.Fatal(err)
				}
				if hex.EncodeToString(got[:]) != hex.EncodeToString(want) {
					t.Fatalf("hash = %x, circl = %x", got, want)
				}
			})
		}
	}
}

// Pins the labels: a change to any domain-separation constant changes these
// values and breaks interoperability with deployed nodes.
func TestDomainSeparationGolden(t *testing.T) {
	sid := NewSessionID([]byte("golden"))
	var e edwards25519.Point
	if err := newHasher(sid).hash(&e, []byte("phone:+8613800138000")); err != nil {
		t.Fatal(err)
	}
	var p Point
	encodePoint(&p, &e)
	k := sid.key(&p)
	tests := []struct{ name, got, want string }{
		{"session id", hex.EncodeToString(sid[:]), goldenSession},
		{"hash to group", hex.EncodeToString(p[:]), goldenPoint},
		{"match key", hex.EncodeToString(k[:]), goldenKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %s, want %s", tt.got, tt.want)
			}
		})
	}
}

// The session id and match key were checked independently with Python's
// hashlib; the point is hash_to_ristretto255, cross-checked against circl above.
const (
	goldenSession = "837a5b2cb7391433db54aabb0d7facbe486f3345f85c5a727488d82efcdd041a"
	goldenPoint   = "50abd639657d9c03059ca09e08dd3889af989f2113ba6fa8bf58c45570e71a34"
	goldenKey     = "7c2577c6fdb4c3e0e78026d3a4256fc7"
)

func TestHashDependsOnSession(t *testing.T) {
	item := []byte("card:6222020200112233445")
	var a, b edwards25519.Point
	if err := newHasher(NewSessionID([]byte("s1"))).hash(&a, item); err != nil {
		t.Fatal(err)
	}
	if err := newHasher(NewSessionID([]byte("s2"))).hash(&b, item); err != nil {
		t.Fatal(err)
	}
	var ea, eb Point
	encodePoint(&ea, &a)
	encodePoint(&eb, &b)
	if ea == eb {
		t.Fatal("the same item hashed to the same point in two sessions")
	}
}

func TestRandomScalar(t *testing.T) {
	t.Run("zero source is refused", func(t *testing.T) {
		if _, err := randomScalar(zeroReader{}); err == nil {
			t.Fatal("randomScalar accepted an all-zero source")
		}
	})
	t.Run("read error is passed on", func(t *testing.T) {
		if _, err := randomScalar(failingReader{}); err == nil || errors.Unwrap(err) == nil {
			t.Fatalf("randomScalar = %v, want a wrapped read error", err)
		}
	})
	t.Run("distinct draws", func(t *testing.T) {
		r := testRand(30)
		a, err := randomScalar(r)
		if err != nil {
			t.Fatal(err)
		}
		b, err := randomScalar(r)
		if err != nil {
			t.Fatal(err)
		}
		if a.Equal(b) == 1 {
			t.Fatal("two draws gave the same scalar")
		}
	})
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }
