package dispute

import (
	"bytes"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

func TestWriteOutcome(t *testing.T) {
	var buf bytes.Buffer
	err := disputeOutcomeForTest.WriteText(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dispute 7 on entry 3/Bank1MSP/Bank2MSP/9 by RegulatorMSP: upheld", "fail  proof"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, buf.String())
		}
	}
}

var disputeOutcomeForTest = Outcome{
	Reversed: true,
	Verdict: &riskmeshv1.AuditVerdict{
		DisputeId: 7, Auditor: "RegulatorMSP", Verdict: riskmeshv1.Verdict_VERDICT_UPHELD, Reason: "proof fails",
		Key:    &riskmeshv1.EntryKey{Period: 3, Requester: "Bank1MSP", Responder: "Bank2MSP", Sequence: 9},
		Checks: []*riskmeshv1.AuditCheck{{Name: "proof", Status: riskmeshv1.AuditStatus_AUDIT_STATUS_FAIL, Detail: "does not verify"}},
	},
}
