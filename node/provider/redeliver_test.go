package provider

import (
	"bytes"
	"testing"

	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// FuzzOpenRedelivered: whatever a provider sends in answer to a redeliver
// request, an accepted transcript is of exactly the exchange asked for and
// is the canonical encoding of what was sent.
func FuzzOpenRedelivered(f *testing.F) {
	c := audittest.New(f, f.TempDir(), nil)
	tr := c.Exchange(f, audittest.Honest, audittest.Identifiers...)
	data, err := tr.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	key := audit.KeyOf(&tr.Header)
	f.Add(data)
	f.Add(data[:len(data)-1])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		resp := &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Redelivered{Redelivered: &riskmeshv1.Redelivered{Transcript: b}}}
		got, err := OpenRedelivered(resp, key)
		if err != nil {
			return
		}
		if audit.KeyOf(&got.Header) != key {
			t.Fatalf("accepted a transcript of %v for %v", audit.KeyOf(&got.Header), key)
		}
		again, err := got.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted a non-canonical transcript: %v", err)
		}
	})
}

// Another exchange's transcript, or another kind of answer, is refused.
func TestOpenRedeliveredRefusesOtherExchanges(t *testing.T) {
	c := audittest.New(t, t.TempDir(), nil)
	tr := c.Exchange(t, audittest.Honest, audittest.Identifiers...)
	data, err := tr.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	resp := &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Redelivered{Redelivered: &riskmeshv1.Redelivered{Transcript: data}}}
	key := audit.KeyOf(&tr.Header)
	if _, err := OpenRedelivered(resp, key); err != nil {
		t.Fatalf("the exchange asked for: %v", err)
	}
	other := key
	other.Sequence++
	if _, err := OpenRedelivered(resp, other); err == nil {
		t.Fatal("accepted another exchange's transcript")
	}
	if _, err := OpenRedelivered(&riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Evaluate{}}, key); err == nil {
		t.Fatal("accepted an evaluate response")
	}
}
