package catalog

import (
	"bytes"
	"testing"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 10, 1000, 20000} {
		c, prfs := buildTest(t, n, 7)
		enc := encode(t, c)
		d := c.Digest()
		got, err := Decode(bytes.NewReader(enc), DecodeConfig{ExpectedDigest: &d})
		if err != nil {
			t.Fatalf("n=%d: decode: %v", n, err)
		}
		if got.Meta() != c.Meta() || got.Params() != c.Params() || got.Len() != n || got.Digest() != d {
			t.Fatalf("n=%d: decoded header differs", n)
		}
		if again := encode(t, got); !bytes.Equal(again, enc) {
			t.Fatalf("n=%d: re-encoding differs", n)
		}
		assertMembers(t, got, prfs)
	}
}
