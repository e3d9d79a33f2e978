package provider

import (
	"bytes"
	"testing"
)

// FuzzLiveRecord: a stored live record that parses re-encodes to the same
// bytes, and parsing never panics.
func FuzzLiveRecord(f *testing.F) {
	rec := &liveRecord{reqSig: []byte("requester"), resp: []byte("responder")}
	rec.query[0], rec.answer[31] = 1, 2
	f.Add(rec.marshal())
	f.Add((&liveRecord{}).marshal())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseLiveRecord(data)
		if err != nil {
			return
		}
		if again := r.marshal(); !bytes.Equal(again, data) {
			t.Fatalf("record %x re-encodes as %x", data, again)
		}
	})
}
