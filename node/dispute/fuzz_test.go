package dispute

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// FuzzDecodeRecord: a stored dispute record is bounded and checked when
// read; an accepted record re-encodes and decodes to an equal record.
func FuzzDecodeRecord(f *testing.F) {
	c := audittest.New(f, f.TempDir(), nil)
	data, err := c.Exchange(f, audittest.WrongKey, audittest.Identifiers...).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	seed, err := proto.Marshal(&riskmeshv1.DisputeRecord{Transcript: data, Claim: "proof failed", State: riskmeshv1.DisputeState_DISPUTE_STATE_PENDING, Attempts: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	nd, err := proto.Marshal(&riskmeshv1.DisputeRecord{Claim: "answer never delivered", State: riskmeshv1.DisputeState_DISPUTE_STATE_PENDING,
		NonDelivery: &riskmeshv1.EntryKey{Period: 1, Requester: audittest.Requester, Responder: audittest.Provider, Sequence: 3}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(nd)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeRecord(b)
		if err != nil {
			return
		}
		again, err := proto.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		rec2, err := decodeRecord(again)
		if err != nil || !proto.Equal(rec, rec2) {
			t.Fatalf("re-decoded record differs: %v", err)
		}
	})
}
