package auditor

import (
	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// KeyToProto converts an entry key to its wire form.
func KeyToProto(k accounting.EntryKey) *riskmeshv1.EntryKey {
	return &riskmeshv1.EntryKey{Period: k.Period, Requester: k.Requester, Responder: k.Responder, Sequence: k.Sequence}
}

// KeyFromProto converts a wire entry key (nil gives the zero key, which
// fails accounting's key validation).
func KeyFromProto(k *riskmeshv1.EntryKey) accounting.EntryKey {
	return accounting.EntryKey{Period: k.GetPeriod(), Requester: k.GetRequester(), Responder: k.GetResponder(), Sequence: k.GetSequence()}
}

// StatusToProto converts a check status to its wire form.
func StatusToProto(s audit.Status) riskmeshv1.AuditStatus {
	switch s {
	case audit.Pass:
		return riskmeshv1.AuditStatus_AUDIT_STATUS_PASS
	case audit.Fail:
		return riskmeshv1.AuditStatus_AUDIT_STATUS_FAIL
	case audit.Skip:
		return riskmeshv1.AuditStatus_AUDIT_STATUS_SKIP
	}
	return riskmeshv1.AuditStatus_AUDIT_STATUS_UNSPECIFIED
}
