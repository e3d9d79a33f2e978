package requester

// Reconciliation. The ledger bills what providers record, and a provider
// records its own entries: one may bill an answer it never delivered, or
// an answer may be lost on the way and billed all the same. The
// requester's node therefore checks every entry billed to it against the
// answers it verified itself (docs/node-requester.md, "Reconciliation"):
//
//   - MATCHED: it holds the transcript the entry bills.
//   - Missing: once any exchange that may still bring the answer has ended
//     (MaxDeadline + LateAnswerWindow after the entry was first seen), it
//     asks the provider to redeliver the stored answer and verifies it as
//     the auditor would (accounting/audit.Verify: entry, hashes, both
//     signatures, proof, amount). A good one is RECOVERED: kept, added to
//     the spend and to the query that sent it; one that fails its proof is
//     DISPUTED like any bad answer (Config.Disputed).
//   - Still missing NonDeliveryAfter later: a non-delivery dispute is
//     filed (Config.NonDelivered) and the entry is DISPUTED; the auditor
//     asks the provider for the billed response itself.
//   - REVERSED once the ledger marks the charge reversed.
//
// A reconciliation entry (docs/reconciliation.md, "Accounting") bills a
// whole reconciliation, not a catalog answer, and no provider redelivers
// one: it is MATCHED once this node keeps the complete transcript of that
// reconciliation under the billed header (Config.ReconTranscript), and
// DISPUTED if it still keeps none, or an incomplete one, NonDeliveryAfter
// past the wait of a catalog answer. It is never redelivered nor disputed
// as a missing catalog answer.
//
// Records live in node.db, so a restart neither repeats a recovery nor
// files a second dispute.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Bills is what reconciliation reads of the ledger: the entries billed to
// this institution and what accounting/audit.Verify checks them against
// (accounting.Ledger implements it).
type Bills interface {
	audit.Ledger
	Entries(ctx context.Context, q accounting.EntriesQuery) (*accounting.EntriesPage, error)
}

var _ Bills = accounting.Ledger(nil)

// maxReconcilePages bounds the entry pages read per period and pass.
const maxReconcilePages = 1 << 16

const (
	stateMatched   = riskmeshv1.ReconcileState_RECONCILE_STATE_MATCHED
	stateRecovered = riskmeshv1.ReconcileState_RECONCILE_STATE_RECOVERED
	statePending   = riskmeshv1.ReconcileState_RECONCILE_STATE_PENDING
	stateDisputed  = riskmeshv1.ReconcileState_RECONCILE_STATE_DISPUTED
	stateReversed  = riskmeshv1.ReconcileState_RECONCILE_STATE_REVERSED
)

// runReconcile reconciles every ReconcileInterval until ctx ends.
func (r *Requester) runReconcile(ctx context.Context) {
	t := time.NewTicker(r.cfg.ReconcileInterval)
	defer t.Stop()
	for {
		if err := r.Reconcile(ctx); err != nil && ctx.Err() == nil {
			r.cfg.Logger.Warn("reconcile bills", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Reconcile runs one reconciliation pass over the current period and the
// one before (entries may still be recorded in its grace window), and over
// the older entries still pending. Passes do not run concurrently.
func (r *Requester) Reconcile(ctx context.Context) error {
	if r.cfg.Bills == nil {
		return ErrNoReconcile
	}
	r.reconcileMu.Lock()
	defer r.reconcileMu.Unlock()
	cur := r.cfg.Directory.View().Period.Number
	var errs []error
	for p := max(cur, 2) - 1; p <= cur && p > 0; p++ {
		errs = append(errs, r.reconcilePeriod(ctx, p))
	}
	older, err := r.store.unsettledReconciles(max(cur, 2)-1, r.cfg.MSPID)
	errs = append(errs, err)
	for lo := 0; lo < len(older); lo += olderPage {
		var got []accounting.RecordedEntry
		for _, e := range older[lo:min(lo+olderPage, len(older))] {
			entry, err := r.cfg.Bills.Entry(ctx, e)
			if err != nil {
				errs = append(errs, fmt.Errorf("entry of period %d: %w", e.Period, err))
				continue
			}
			got = append(got, *entry)
		}
		errs = append(errs, r.reconcileEntries(ctx, got))
	}
	return errors.Join(errs...)
}

// olderPage bounds the older entries still open that a pass reconciles
// and stores together: their number has no bound of its own (a provider
// may bill many answers it never delivered), and a page's records are
// written only once the page is done.
const olderPage = 256

// reconcileEntries reconciles entries, a page of them, and stores the
// records that changed in one write. What queries logged before it
// started is folded into node.db first; a transcript logged during it is
// not seen, which leaves its entry PENDING until the next pass, as an
// entry billed before its answer was stored is (reconcileEntry).
func (r *Requester) reconcileEntries(ctx context.Context, entries []accounting.RecordedEntry) error {
	if len(entries) == 0 {
		return nil
	}
	errs := []error{r.store.settle()}
	var changed []entryRecord
	for i := range entries {
		rec, err := r.reconcileEntry(ctx, &entries[i])
		errs = append(errs, err)
		if rec != nil {
			changed = append(changed, entryRecord{entries[i].Key, rec})
		}
	}
	return errors.Join(append(errs, r.store.putReconciles(changed))...)
}

// reconcilePeriod reconciles every entry billed to this institution in
// period and records the pass.
func (r *Requester) reconcilePeriod(ctx context.Context, period uint64) error {
	q := accounting.EntriesQuery{Period: period, Party: r.cfg.MSPID}
	var errs []error
	for range maxReconcilePages {
		page, err := r.cfg.Bills.Entries(ctx, q)
		if err != nil {
			return fmt.Errorf("entries of period %d: %w", period, err)
		}
		errs = append(errs, r.reconcileEntries(ctx, page.Entries))
		if page.Bookmark == "" {
			errs = append(errs, r.store.putReconcilePass(period, r.cfg.Now()))
			return errors.Join(errs...)
		}
		q.Bookmark = page.Bookmark
	}
	return fmt.Errorf("entries of period %d: more than %d pages", period, maxReconcilePages)
}

// reconcileEntry moves one billed entry along the states above. It
// returns the entry's record if it is new or changed and still to be
// stored (a recovery stores its own).
func (r *Requester) reconcileEntry(ctx context.Context, e *accounting.RecordedEntry) (*riskmeshv1.ReconcileRecord, error) {
	k := e.Key
	if k.Requester != r.cfg.MSPID {
		return nil, nil
	}
	rec, err := r.store.reconcileRecord(k)
	if err != nil {
		return nil, err
	}
	now := r.cfg.Now()
	switch {
	case e.Reversal != nil:
		if rec != nil && rec.State == stateReversed {
			return nil, nil
		}
		rec = &riskmeshv1.ReconcileRecord{Amount: e.Amount, State: stateReversed,
			Note: "reversed on the ledger by " + e.Reversal.Auditor}
	case isReconEntry(e):
		var changed bool
		if rec, changed = r.reconcileRecon(ctx, e, rec, now); !changed {
			return nil, nil
		}
	case rec == nil:
		rec = &riskmeshv1.ReconcileRecord{Amount: e.Amount}
		if r.holds(e) {
			rec.State = stateMatched
			r.watchLiveStep(e, rec, now)
		} else {
			rec.State, rec.FirstMissing = statePending, timestamppb.New(now)
		}
	case rec.State == statePending:
		// The provider may record its entry before this node has stored
		// the answer it is receiving: one that has come since matches at
		// once, whatever the wait.
		if r.holds(e) {
			rec.State, rec.Note, rec.FirstMissing = stateMatched, "", nil
			r.watchLiveStep(e, rec, now)
			break
		}
		missing := now.Sub(rec.FirstMissing.AsTime())
		if missing < r.cfg.MaxDeadline+r.cfg.LateAnswerWindow {
			return nil, nil // an exchange may still bring the answer
		}
		if done, err := r.recover(ctx, e, rec); done || err != nil {
			return nil, err
		}
		if missing >= r.cfg.MaxDeadline+r.cfg.LateAnswerWindow+r.cfg.NonDeliveryAfter && r.cfg.NonDelivered != nil {
			r.cfg.NonDelivered(k, rec.Note)
			rec.State = stateDisputed
			r.cfg.Logger.Warn("non-delivery disputed", "provider", k.Responder, "period", k.Period, "sequence", k.Sequence)
		}
	case rec.State == stateMatched && rec.FirstMissing != nil:
		if !r.disputeLiveStep(e, rec, now) {
			return nil, nil
		}
	case rec.State == stateDisputed && r.nonDeliveryRejected(k) && !r.holds(e):
		// The auditor rejected the non-delivery: the provider produced
		// the billed answer, so it can redeliver it to us too.
		if done, err := r.recover(ctx, e, rec); done || err != nil {
			return nil, err
		}
	default:
		return nil, nil
	}
	return rec, nil
}

// isReconEntry reports whether e bills a reconciliation: its header is a
// reconciliation header, which a catalog or live header never parses as.
func isReconEntry(e *accounting.RecordedEntry) bool {
	_, err := transcript.ParseReconHeader(e.Header)
	return err == nil
}

// reconcileRecon is reconcileEntry for a reconciliation entry not
// reversed: the record it moves to, and whether it changed.
// A DISPUTED one is filed through Config.ReconDispute until a filing gets
// an answer (Attempts counts those).
func (r *Requester) reconcileRecon(ctx context.Context, e *accounting.RecordedEntry, rec *riskmeshv1.ReconcileRecord, now time.Time) (*riskmeshv1.ReconcileRecord, bool) {
	switch {
	case rec == nil:
		rec = &riskmeshv1.ReconcileRecord{Amount: e.Amount, State: statePending, FirstMissing: timestamppb.New(now)}
	case rec.State == stateDisputed && rec.Attempts == 0 && r.cfg.ReconDispute != nil:
		r.fileRecon(ctx, e.Key, rec)
		return rec, true
	case rec.State != statePending:
		return rec, false
	}
	why := r.holdsRecon(e)
	switch {
	case why == "":
		rec.State, rec.Note = stateMatched, ""
	case now.Sub(rec.FirstMissing.AsTime()) >= r.cfg.MaxDeadline+r.cfg.LateAnswerWindow+r.cfg.NonDeliveryAfter:
		rec.State, rec.Note = stateDisputed, truncate("billed reconciliation not run to the end by this node: "+why)
		r.cfg.Logger.Warn("reconciliation bill disputed", "responder", e.Key.Responder, "period", e.Key.Period,
			"sequence", e.Key.Sequence, "why", why)
		if r.cfg.ReconDispute != nil {
			r.fileRecon(ctx, e.Key, rec)
		}
	default:
		// The requester saves its transcript just after the responder's
		// last answer, and a reconciliation may be resuming: wait.
		rec.Note = truncate(why)
	}
	return rec, true
}

// reconClaim is the claim a reconciliation dispute is filed with.
const reconClaim = "reconciliation billed that this node did not run to the end"

// fileRecon files the dispute of a DISPUTED reconciliation entry and
// notes the outcome; a failed filing leaves Attempts at 0 to be retried.
func (r *Requester) fileRecon(ctx context.Context, k accounting.EntryKey, rec *riskmeshv1.ReconcileRecord) {
	outcome, err := r.cfg.ReconDispute(ctx, k, reconClaim)
	if err != nil {
		rec.Note = truncate("reconciliation dispute not filed yet: " + err.Error())
		return
	}
	rec.Attempts, rec.Note = 1, truncate(outcome)
	// ReconDispute queues (or declines) rather than files: the log says
	// what it reported, not that an auditor has the dispute already.
	r.cfg.Logger.Info("reconciliation dispute handed to the dispute queue", "responder", k.Responder, "period", k.Period,
		"sequence", k.Sequence, "outcome", rec.Note)
}

// holdsRecon returns why this node does not keep the complete transcript
// of the reconciliation e bills, or "" if it does.
func (r *Requester) holdsRecon(e *accounting.RecordedEntry) string {
	if r.cfg.ReconTranscript == nil {
		return "this node runs no reconciliations"
	}
	t, err := r.cfg.ReconTranscript(e.Key)
	if err != nil {
		return "no transcript: " + err.Error()
	}
	hdr, err := t.Header.MarshalBinary()
	switch {
	case err != nil || !bytes.Equal(hdr, e.Header):
		return "the transcript kept has another header than the one billed"
	case !t.Complete():
		return fmt.Sprintf("the transcript kept is incomplete (%d records)", len(t.Records))
	}
	return ""
}

// nonDeliveryRejected reports whether the dispute of k was decided against
// this node (Config.DisputeStatus).
func (r *Requester) nonDeliveryRejected(k accounting.EntryKey) bool {
	if r.cfg.DisputeStatus == nil {
		return false
	}
	state, _, ok := r.cfg.DisputeStatus(k)
	return ok && state == riskmeshv1.DisputeState_DISPUTE_STATE_REJECTED
}

// holds reports whether this node keeps the transcript e bills: the same
// header and body hashes (a DISPUTED answer counts, its dispute is under
// way). It reads node.db as folded (reconcileEntries).
func (r *Requester) holds(e *accounting.RecordedEntry) bool {
	t, err := r.store.foldedTranscript(e.Key.Period, e.Key.Responder, e.Key.Sequence)
	if err != nil {
		return false
	}
	hdr, err := t.Header.MarshalBinary()
	if err != nil {
		return false
	}
	d, err := t.Digests()
	return err == nil && bytes.Equal(hdr, e.Header) && bytes.Equal(d.RequestHash[:], e.RequestHash) &&
		bytes.Equal(d.ResponseHash[:], e.ResponseHash)
}

// recover asks the provider to redeliver e's answer and, if it verifies as
// the billed exchange, records it. It reports whether the entry left
// PENDING; rec.Note says why not otherwise.
func (r *Requester) recover(ctx context.Context, e *accounting.RecordedEntry, rec *riskmeshv1.ReconcileRecord) (bool, error) {
	k := e.Key
	rec.Attempts++
	t, err := r.fetchBilled(ctx, k)
	if err != nil {
		rec.Note = truncate("not redelivered: " + err.Error())
		return false, nil
	}
	report, err := audit.Verify(ctx, t, r.cfg.Bills)
	if err != nil {
		rec.Note = truncate("redelivered answer not verifiable yet: " + err.Error())
		return false, nil
	}
	if ok, failed := audit.Billed(report); !ok {
		rec.Note = truncate(fmt.Sprintf("redelivered answer is not the billed exchange (failed: %v)", failed))
		return false, nil
	}
	rec.State, rec.Note = stateRecovered, "redelivered by the provider"
	if c, _ := report.Check(audit.CheckProof); c.Status == audit.Fail {
		rec.State, rec.Note = stateDisputed, truncate("redelivered answer fails its proof: "+c.Detail)
	}
	r.spendMu.Lock()
	added, err := r.store.recoverEntry(e, t, rec, r.cfg.Now())
	r.budget.release(0, added)
	r.spendMu.Unlock()
	if err != nil {
		return false, err
	}
	if rec.State == stateDisputed && r.cfg.Disputed != nil {
		r.cfg.Disputed(t, rec.Note)
	}
	r.cfg.Logger.Info("billed answer recovered", "provider", k.Responder, "period", k.Period, "sequence", k.Sequence,
		"state", rec.State)
	return true, nil
}

// fetchBilled asks the provider of k to redeliver its stored answer, or
// failing that takes the one it produced to the auditor
// (Config.ProducedAnswer).
func (r *Requester) fetchBilled(ctx context.Context, k accounting.EntryKey) (*transcript.Transcript, error) {
	err := fmt.Errorf("%s is not in the registry", k.Responder)
	if inst, ok := r.cfg.Directory.View().Institution(k.Responder); ok {
		actx, cancel := context.WithTimeout(ctx, r.cfg.PhaseTimeout)
		var resp *riskmeshv1.PeerResponse
		resp, err = r.cfg.Conns.Do(actx, &inst, provider.RedeliverRequest(k))
		cancel()
		if err == nil {
			var t *transcript.Transcript
			if t, err = provider.OpenRedelivered(resp, k); err == nil {
				return t, nil
			}
		}
	}
	if r.cfg.ProducedAnswer != nil {
		if t, ok := r.cfg.ProducedAnswer(k); ok {
			return t, nil
		}
	}
	return nil, err
}

// ReconcileReport reports period's reconciliation (0: the current
// period) as of the last pass.
func (r *Requester) ReconcileReport(period uint64) (*riskmeshv1.ReconcileReport, error) {
	if period == 0 {
		period = r.cfg.Directory.View().Period.Number
	}
	rep, err := r.store.reconcileReport(period, r.cfg.MSPID)
	if err != nil {
		return nil, fmt.Errorf("requester: reconciliation report: %w", err)
	}
	return rep, nil
}
