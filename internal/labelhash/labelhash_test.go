package labelhash

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"strings"
	"testing"
)

// explicit is the documented input written out byte by byte, independently
// of appendInput.
func explicit(label string, parts ...[]byte) []byte {
	in := []byte{byte(len(label))}
	in = append(in, label...)
	for _, p := range parts {
		in = append(in, p...)
	}
	return in
}

func TestSumMatchesDocumentedEncoding(t *testing.T) {
	big := bytes.Repeat([]byte{0xa5}, 3*stackInput) // beyond the stack buffer
	cases := []struct {
		name  string
		label string
		parts [][]byte
	}{
		{"no parts", "riskmesh/v1/test/a", nil},
		{"empty label", "", [][]byte{{1, 2, 3}}},
		{"several parts", "riskmesh/v1/test/b", [][]byte{{1}, nil, {2, 3}, bytes.Repeat([]byte{7}, 64)}},
		{"longest label", strings.Repeat("l", MaxLabel), [][]byte{{9}}},
		{"input beyond the stack buffer", "riskmesh/v1/test/c", [][]byte{big, {1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := explicit(c.label, c.parts...)
			if got, want := Sum(c.label, c.parts...), sha256.Sum256(in); got != want {
				t.Errorf("Sum = %x, want SHA-256 of the documented input %x", got, want)
			}
			if got, want := Sum512(c.label, c.parts...), sha512.Sum512(in); got != want {
				t.Errorf("Sum512 = %x, want SHA-512 of the documented input %x", got, want)
			}
			h := New(c.label)
			for _, p := range c.parts {
				h.Write(p)
			}
			if got, want := h.Sum(nil), sha256.Sum256(in); !bytes.Equal(got, want[:]) {
				t.Errorf("New then Write = %x, want %x", got, want)
			}
		})
	}
}

// TestLabelBoundaryIsBound moves bytes between the label and the first part:
// without the length prefix all of these would hash the same bytes.
func TestLabelBoundaryIsBound(t *testing.T) {
	seen := map[[Size]byte]string{}
	for _, c := range []struct{ label, part string }{
		{"riskmesh/v1/x", "yz"}, {"riskmesh/v1/xy", "z"}, {"riskmesh/v1/xyz", ""},
	} {
		d := Sum(c.label, []byte(c.part))
		if prev, ok := seen[d]; ok {
			t.Fatalf("label %q and label %q give the same digest", prev, c.label)
		}
		seen[d] = c.label
	}
}

func TestOverlongLabelPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a 256-byte label was accepted")
		}
	}()
	Sum(strings.Repeat("l", MaxLabel+1))
}
