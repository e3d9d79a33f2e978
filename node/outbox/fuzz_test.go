package outbox

import (
	"bytes"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
)

// sample is a well-formed stored entry for the seed corpora; decoding does
// not interpret the header.
func sample(f *testing.F) []byte {
	e := accounting.Entry{Header: []byte("header"), RequestHash: bytes.Repeat([]byte{1}, hashSize),
		ResponseHash: bytes.Repeat([]byte{2}, hashSize), RequesterSignature: []byte{3}, ResponderSignature: []byte{4, 5}, Amount: -7}
	b, err := encodeEntry(&e)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzDecodeEntry: a stored record either fails to decode or re-encodes to
// the same bytes (the encoding is canonical).
func FuzzDecodeEntry(f *testing.F) {
	f.Add([]byte{recordVersion, 0, 0})
	f.Add(sample(f))
	f.Add(bytes.Repeat([]byte{1}, 200))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decodeEntry(data)
		if err != nil {
			return
		}
		again, err := encodeEntry(&e)
		if err != nil {
			t.Fatalf("decoded entry does not encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatal("round trip changed the record")
		}
	})
}

// FuzzDecodeDead: a dead record never panics the decoder, and a decoded one
// round-trips.
func FuzzDecodeDead(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	if d, err := encodeDead(sample(f), "wrong_amount", "detail", 1); err == nil {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := decodeDead(data)
		if err != nil {
			return
		}
		raw, err := encodeEntry(&d.Entry)
		if err != nil {
			t.Fatal(err)
		}
		again, err := encodeDead(raw, d.Code, d.Detail, d.At)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, data) {
			t.Fatal("round trip changed the record")
		}
	})
}
