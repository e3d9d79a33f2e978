package catalog

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode checks that Decode never panics and that whatever it accepts
// is canonical: re-encoding reproduces the input byte for byte, with the
// same digest. Seeds are the vector catalog and a few small built ones,
// whole and cut short.
func FuzzDecode(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		f.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(data, &vf); err != nil {
		f.Fatal(err)
	}
	vec, err := hex.DecodeString(vf.Catalog.Encoding)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(vec)
	for _, n := range []int{0, 1, 5} {
		c, _ := buildTest(f, n, uint64(n))
		enc := encode(f, c)
		f.Add(enc)
		f.Add(enc[:len(enc)/2])
	}
	probe := vectorPRF(0)
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := Decode(bytes.NewReader(in), DecodeConfig{MaxBytes: 1 << 20})
		if err != nil {
			if c != nil {
				t.Fatal("catalog returned with an error")
			}
			return
		}
		var out bytes.Buffer
		d, err := c.Encode(&out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), in) {
			t.Fatalf("re-encoding differs:\nin  %x\nout %x", in, out.Bytes())
		}
		if d != c.Digest() {
			t.Fatal("Encode digest differs from the decoded digest")
		}
		c.Lookup(probe) // any slot contents: must not panic
		if len(in) >= MinPRFOutput {
			c.Lookup(in[len(in)-MinPRFOutput:])
		}
	})
}

// FuzzLabel checks that a label that parses re-encodes to the same bytes.
func FuzzLabel(f *testing.F) {
	for i := range 4 {
		enc, err := vectorLabel(i).MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Add(make([]byte, LabelSize))
	f.Add(bytes.Repeat([]byte{0xff}, LabelSize))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, in []byte) {
		var l Label
		if err := l.UnmarshalBinary(in); err != nil {
			return
		}
		out, err := l.MarshalBinary()
		if err != nil {
			t.Fatalf("parsed label does not marshal: %v", err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("round trip: in %x, out %x", in, out)
		}
	})
}
