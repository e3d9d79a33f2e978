package requester

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
)

// feedbackRetry is how often the submission retries entries the ledger
// could not take yet (it also runs at once after each ReportOutcomes).
const feedbackRetry = 10 * time.Second

// pokeFeedback wakes the submission without blocking.
func (r *Requester) pokeFeedback() {
	select {
	case r.feedback <- struct{}{}:
	default:
	}
}

// runFeedback submits the entries whose outcome counts changed, after each
// report and every feedbackRetry, until ctx ends.
func (r *Requester) runFeedback(ctx context.Context) {
	tick := time.NewTicker(feedbackRetry)
	defer tick.Stop()
	for {
		for {
			n, err := r.submitFeedback(ctx)
			if err != nil {
				if ctx.Err() == nil {
					r.cfg.Logger.Warn("submit outcome reports", "err", err)
				}
				break
			}
			if n < chaincode.MaxBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-r.feedback:
		case <-tick.C:
		}
	}
}

// submitFeedback submits one batch of waiting entries and returns its
// size. An entry stays waiting if the ledger has not recorded it yet
// (the provider's outbox may still hold it) or if it changed while the
// batch was out; the ledger's permanent refusals are kept with their code
// and leave the queue, to return with the entry's next change.
func (r *Requester) submitFeedback(ctx context.Context) (int, error) {
	var batch []entryCounts
	err := r.store.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFeedbackEntries)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil && len(batch) < chaincode.MaxBatch; k, v = c.Next() {
			var e entryCounts
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("stored entry feedback: %w", err)
			}
			if e.Dirty {
				batch = append(batch, e)
			}
		}
		return nil
	})
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	reports := make([]accounting.OutcomeReport, len(batch))
	for i := range batch {
		reports[i] = batch[i].report()
	}
	outs, err := r.cfg.Quality.ReportOutcomes(ctx, reports)
	if err != nil {
		return 0, err
	}
	final := map[uint64]bool{} // periods snapshotted: no entry records there any more
	for i, o := range outs {
		if p := batch[i].Key.Period; o.Code == chaincode.CodeNotFound {
			if _, ok := final[p]; !ok {
				period, err := r.cfg.Ledger.Period(ctx, p)
				final[p] = err == nil && period.State == accounting.PeriodSnapshotted
			}
		}
	}
	err = r.store.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFeedbackEntries)
		for i, o := range outs {
			if o.Code == chaincode.CodeNotFound && !final[batch[i].Key.Period] {
				continue // not recorded yet: retried
			}
			k := batch[i].Key
			bk := transcriptKey(k.Period, k.Responder, k.Sequence)
			var cur entryCounts
			if err := json.Unmarshal(b.Get(bk), &cur); err != nil {
				return fmt.Errorf("stored entry feedback: %w", err)
			}
			if cur.report() != reports[i] {
				continue // changed since: submitted again
			}
			cur.Dirty = false
			if o.Status == accounting.OutcomeRejected {
				cur.Refused = string(o.Code)
				r.cfg.Logger.Warn("ledger refused an outcome report", "period", k.Period, "provider", k.Responder, "code", o.Code)
			}
			v, err := json.Marshal(&cur)
			if err != nil {
				return err
			}
			if err := b.Put(bk, v); err != nil {
				return err
			}
		}
		return nil
	})
	return len(batch), err
}
