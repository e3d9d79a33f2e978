package auditor

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// FuzzDecodeRecord: a stored record is read back bounded and checked; any
// accepted record re-encodes and decodes to an equal record.
func FuzzDecodeRecord(f *testing.F) {
	c := audittest.New(f, f.TempDir(), nil)
	data, err := c.Exchange(f, audittest.Honest, audittest.Identifiers...).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	seed, err := proto.Marshal(&riskmeshv1.StoredDispute{
		Verdict:    &riskmeshv1.AuditVerdict{DisputeId: 1, Key: &riskmeshv1.EntryKey{Period: 1, Requester: "A", Responder: "B", Sequence: 1}, ResponseDigest: make([]byte, 32)},
		Transcript: data, Claim: "label believed wrong",
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte{})
	const max = 1 << 20
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeRecord(b, max)
		if err != nil {
			return
		}
		again, err := proto.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		rec2, err := decodeRecord(again, max+len(again))
		if err != nil || !proto.Equal(rec, rec2) {
			t.Fatalf("re-decoded record differs: %v", err)
		}
	})
}
