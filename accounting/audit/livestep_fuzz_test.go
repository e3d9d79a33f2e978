package audit_test

import (
	"bytes"
	"testing"

	"github.com/riskmesh/riskmesh/accounting/audit"
)

// FuzzLiveStep: a live step that parses re-encodes to the same bytes, holds
// a requester signature, and holds an answer digest exactly when it holds
// a receipt; parsing never panics.
func FuzzLiveStep(f *testing.F) {
	s := &audit.LiveStep{RequesterSignature: []byte("requester"), ResponderSignature: []byte("responder")}
	s.Params[0], s.Query[1], s.Answer[31] = 1, 2, 3
	enc, err := s.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	s.Answer, s.ResponderSignature = [32]byte{}, nil
	if enc, err = s.MarshalBinary(); err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s audit.LiveStep
		if s.UnmarshalBinary(data) != nil {
			return
		}
		again, err := s.MarshalBinary()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("step %x re-encodes as %x (%v)", data, again, err)
		}
		if len(s.RequesterSignature) == 0 {
			t.Fatal("a step without the requester's signature parsed")
		}
		if s.Answered() == (s.Answer == [32]byte{}) {
			t.Fatalf("answer digest %x with receipt %x", s.Answer, s.ResponderSignature)
		}
	})
}
