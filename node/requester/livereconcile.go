package requester

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// A live exchange this node holds the billed POPRF answer of is MATCHED,
// but its homomorphic step may still be unanswered: reconciliation then
// notes when it first saw that (FirstMissing on the MATCHED record) and,
// once no exchange can still bring the answer and NonDeliveryAfter more
// has passed, hands the signed query to Config.LiveUnanswered and marks
// the entry DISPUTED (docs/audit.md, "Live mode").

// noteLiveMissing is the note of a MATCHED live entry whose homomorphic
// answer has not arrived.
const noteLiveMissing = "homomorphic answer not received"

// unansweredLiveStep reports whether e bills a live exchange whose
// homomorphic query this node signed and holds no receipt for.
func (r *Requester) unansweredLiveStep(e *accounting.RecordedEntry) bool {
	h, err := transcript.ParseHeader(e.Header)
	if err != nil || h.Protocol != transcript.ProtocolLiveHE {
		return false
	}
	step, err := r.LiveStep(e.Key.Period, e.Key.Responder, e.Key.Sequence)
	return err == nil && !step.Answered()
}

// watchLiveStep marks rec, a newly MATCHED entry, as waiting for its
// homomorphic answer if it has none yet.
func (r *Requester) watchLiveStep(e *accounting.RecordedEntry, rec *riskmeshv1.ReconcileRecord, now time.Time) {
	if r.cfg.LiveUnanswered != nil && r.unansweredLiveStep(e) {
		rec.FirstMissing, rec.Note = timestamppb.New(now), noteLiveMissing
	}
}

// disputeLiveStep moves rec, a MATCHED live entry waiting for its
// homomorphic answer, along: back to plain MATCHED if the answer came
// (late), to DISPUTED once it is given up. It reports whether rec
// changed.
func (r *Requester) disputeLiveStep(e *accounting.RecordedEntry, rec *riskmeshv1.ReconcileRecord, now time.Time) bool {
	if !r.unansweredLiveStep(e) {
		rec.FirstMissing, rec.Note = nil, ""
		return true
	}
	if now.Sub(rec.FirstMissing.AsTime()) < r.cfg.MaxDeadline+r.cfg.LateAnswerWindow+r.cfg.NonDeliveryAfter || r.cfg.LiveUnanswered == nil {
		return false
	}
	step, err := r.LiveStep(e.Key.Period, e.Key.Responder, e.Key.Sequence)
	if err != nil {
		return false
	}
	r.cfg.LiveUnanswered(e.Key, step)
	rec.State = stateDisputed
	r.cfg.Logger.Warn("unanswered live step disputed", "provider", e.Key.Responder, "period", e.Key.Period, "sequence", e.Key.Sequence)
	return true
}
