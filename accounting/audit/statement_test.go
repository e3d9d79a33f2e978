package audit_test

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
)

// TestStatementDigestLayout writes the statement's documented layout out
// byte by byte, so a change to the hashing (its label framing included)
// that would invalidate statements auditors already signed fails here.
func TestStatementDigestLayout(t *testing.T) {
	key := accounting.EntryKey{Period: 7, Requester: "Bank1MSP", Responder: "Bank2MSP", Sequence: 42}
	var response [32]byte
	for i := range response {
		response[i] = byte(i)
	}
	const reason = "the responder's key id is not the registered one"
	decided := time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC)

	e, err := accounting.EndorsementDigest(key, accounting.VerdictRejected)
	if err != nil {
		t.Fatal(err)
	}
	in := []byte{byte(len(audit.LabelStatement))}
	in = append(in, audit.LabelStatement...)
	in = append(in, e[:]...)
	in = append(in, response[:]...)
	in = binary.BigEndian.AppendUint16(in, uint16(len(reason)))
	in = append(in, reason...)
	in = binary.BigEndian.AppendUint64(in, uint64(decided.UnixNano()))
	want := sha256.Sum256(in)

	got, err := audit.StatementDigest(key, accounting.VerdictRejected, response, reason, decided)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("StatementDigest = %x, want %x (the documented layout)", got, want)
	}
}
