package transcript

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// addVectorSeeds seeds f with the encodings from the golden vectors.
func addVectorSeeds(f *testing.F, pick func(*vector) []byte) {
	f.Helper()
	data, err := os.ReadFile(vectorsFile)
	if err != nil {
		f.Fatal(err)
	}
	var vectors []vector
	if err := json.Unmarshal(data, &vectors); err != nil {
		f.Fatal(err)
	}
	for i := range vectors {
		f.Add(pick(&vectors[i]))
	}
}

// FuzzParse checks that the file parser never panics and that whatever it
// accepts is canonical: re-encoding gives back exactly the input.
func FuzzParse(f *testing.F) {
	addVectorSeeds(f, func(v *vector) []byte { return v.Expected.File })
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := Parse(data)
		if err != nil {
			return
		}
		enc, err := tr.MarshalBinary()
		if err != nil {
			t.Fatalf("parsed transcript does not re-encode: %v", err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("non-canonical encoding accepted:\n in %x\nout %x", data, enc)
		}
		if _, err := tr.Digests(); err != nil {
			t.Fatalf("parsed transcript has no digests: %v", err)
		}
	})
}

// FuzzParseHeader is FuzzParse for the header alone, the input the chaincode
// parses from ledger entries.
func FuzzParseHeader(f *testing.F) {
	addVectorSeeds(f, func(v *vector) []byte { return v.Expected.Header })
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeader(data)
		if err != nil {
			return
		}
		enc, err := h.MarshalBinary()
		if err != nil {
			t.Fatalf("parsed header does not re-encode: %v", err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("non-canonical header accepted:\n in %x\nout %x", data, enc)
		}
	})
}

// FuzzParseResponse exercises the body parser against each header shape.
func FuzzParseResponse(f *testing.F) {
	addVectorSeeds(f, func(v *vector) []byte { return append([]byte{byte(v.Header.Protocol)}, v.Expected.Response...) })
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		h := testHeader(t, uint32(data[0]%4+1))
		h.Protocol = Protocol(data[0]>>4%3 + 1)
		resp, err := ParseResponse(h, data[1:])
		if err != nil {
			return
		}
		enc, err := MarshalResponse(h, resp)
		if err != nil {
			t.Fatalf("parsed response does not re-encode: %v", err)
		}
		if !bytes.Equal(enc, data[1:]) {
			t.Fatalf("non-canonical response accepted")
		}
	})
}
