package outbox

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/backoff"
)

// codeCorrupt marks a dead record whose pending record did not decode.
const codeCorrupt = "corrupt_journal_record"

// Run submits pending entries until ctx ends, and returns ctx's error.
//
// Batching: with fewer than BatchSize entries pending, Run waits up to
// BatchDelay for more before it sends, so that the answers of a busy
// minute reach the ledger in a few Record calls instead of one each: every
// call costs the ledger host a transaction and this node a journal commit
// (apply), beside the commits on its answers' path. The wait costs no
// answer anything: an entry is durable in the journal before its answer
// leaves, and the ledger accepts it through the period's grace window.
func (o *Outbox) Run(ctx context.Context) error {
	failures := 0 // consecutive failed batches
	for {
		progressed, err := false, error(nil)
		if o.Depth() > 0 {
			if err := o.gather(ctx); err != nil {
				return err
			}
			progressed, err = o.submit(ctx)
		}
		switch {
		case err != nil:
			if err := o.pause(ctx, &failures, err); err != nil {
				return err
			}
		case progressed:
			failures = 0
		default:
			// Nothing pending (or counted but not yet visible): wait for
			// the next commit instead of spinning.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-o.kick:
			}
		}
	}
}

// gather waits until BatchSize entries are pending, BatchDelay has passed,
// Flush hurries the submitter or ctx ends (its error).
func (o *Outbox) gather(ctx context.Context) error {
	if o.cfg.BatchDelay <= 0 || o.Depth() >= o.cfg.BatchSize {
		return nil
	}
	t := time.NewTimer(o.cfg.BatchDelay)
	defer t.Stop()
	for o.Depth() < o.cfg.BatchSize {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		case <-o.hurry:
			return nil
		case <-o.kick: // an entry was added: count again
		}
	}
	return nil
}

// Drain submits pending entries in the calling goroutine until none is
// pending or ctx ends, retrying failed batches with the same back-off as
// Run. It is for a graceful stop after Run has returned (Flush needs Run);
// it may also run beside Run, which it then takes turns with.
func (o *Outbox) Drain(ctx context.Context) error {
	failures := 0 // consecutive failed batches
	for o.Depth() > 0 {
		progressed, err := o.submit(ctx)
		if err != nil {
			if err := o.pause(ctx, &failures, err); err != nil {
				return fmt.Errorf("outbox: drain with %d entries pending: %w", o.Depth(), err)
			}
			continue
		}
		if !progressed {
			break
		}
		failures = 0
	}
	return nil
}

// submit runs one batch; one batch at a time per Outbox.
func (o *Outbox) submit(ctx context.Context) (bool, error) {
	o.submitMu.Lock()
	defer o.submitMu.Unlock()
	return o.submitBatch(ctx)
}

// pause logs a failed batch and waits the next back-off step (doubling
// from MinBackoff to MaxBackoff, drawn from the upper half), or returns
// ctx's error.
func (o *Outbox) pause(ctx context.Context, failures *int, cause error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	*failures++
	wait := backoff.Jitter(backoff.Delay(o.cfg.MinBackoff, o.cfg.MaxBackoff, *failures))
	o.cfg.Logger.Warn("outbox: record batch failed; retrying",
		"pending", o.Depth(), "retry_in", wait, "err", cause)
	return backoff.Sleep(ctx, wait)
}

// pendingEntry is one journal record read for submission.
type pendingEntry struct {
	key   []byte
	raw   []byte
	entry accounting.Entry
}

// submitBatch sends up to BatchSize pending entries in one Record call and
// applies the outcomes; progressed is false if there was nothing to send.
// An error means nothing changed in the journal.
func (o *Outbox) submitBatch(ctx context.Context) (progressed bool, err error) {
	batch, corrupt, err := o.readBatch()
	if err != nil {
		return false, err
	}
	if len(corrupt) > 0 {
		if err := o.apply(nil, nil, corrupt); err != nil {
			return false, err
		}
	}
	if len(batch) == 0 {
		return len(corrupt) > 0, nil
	}
	entries := make([]accounting.Entry, len(batch))
	for i := range batch {
		entries[i] = batch[i].entry
	}
	callCtx, cancel := context.WithTimeout(ctx, o.cfg.CallTimeout)
	outcomes, err := o.cfg.Ledger.Record(callCtx, entries)
	cancel()
	if err == nil {
		err = checkOutcomes(outcomes, len(entries))
	}
	if err != nil {
		o.mu.Lock()
		o.lastErr = err
		o.errs++
		o.mu.Unlock()
		return false, fmt.Errorf("outbox: record %d entries: %w", len(entries), err)
	}
	return true, o.apply(batch, outcomes, nil)
}

func checkOutcomes(outcomes []accounting.Outcome, n int) error {
	if len(outcomes) != n {
		return fmt.Errorf("ledger returned %d outcomes for %d entries", len(outcomes), n)
	}
	for i, oc := range outcomes {
		switch oc.Status {
		case accounting.OutcomeRecorded, accounting.OutcomeDuplicate, accounting.OutcomeRejected:
		default:
			return fmt.Errorf("outcome %d has unknown status %q", i, oc.Status)
		}
	}
	return nil
}

// readBatch reads the first BatchSize pending records. Records that do not
// decode are returned apart, to be moved to the dead bucket.
func (o *Outbox) readBatch() (batch, corrupt []pendingEntry, err error) {
	err = o.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPending).Cursor()
		for k, v := c.First(); k != nil && len(batch) < o.cfg.BatchSize; k, v = c.Next() {
			e, err := decodeEntry(v)
			if err != nil {
				corrupt = append(corrupt, pendingEntry{key: clone(k), raw: clone(v)})
				continue
			}
			batch = append(batch, pendingEntry{key: clone(k), entry: e})
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("outbox: read journal: %w", err)
	}
	return batch, corrupt, nil
}

// apply removes recorded and duplicate entries and moves rejected and
// corrupt ones to the dead bucket, in one transaction.
func (o *Outbox) apply(batch []pendingEntry, outcomes []accounting.Outcome, corrupt []pendingEntry) error {
	var removed, moved int
	var recorded uint64
	rejections := map[string]int{} // code -> count, for the log
	now := o.cfg.Now().Unix()
	err := o.db.Update(func(tx *bolt.Tx) error {
		removed, moved, recorded = 0, 0, 0
		clear(rejections)
		pending, dead := tx.Bucket(bucketPending), tx.Bucket(bucketDead)
		bury := func(key, raw []byte, code, detail string) error {
			rec, err := encodeDead(raw, code, detail, now)
			if err != nil {
				return err
			}
			if err := dead.Put(key, rec); err != nil {
				return err
			}
			moved++
			rejections[code]++
			return pending.Delete(key)
		}
		for i, oc := range outcomes {
			p := &batch[i]
			if pending.Get(p.key) == nil {
				continue
			}
			if oc.Status == accounting.OutcomeRejected {
				raw, err := encodeEntry(&p.entry)
				if err != nil {
					return err
				}
				if err := bury(p.key, raw, string(oc.Code), oc.Detail); err != nil {
					return err
				}
				continue
			}
			if err := pending.Delete(p.key); err != nil {
				return err
			}
			recorded++
		}
		for _, p := range corrupt {
			if err := bury(p.key, p.raw, codeCorrupt, "pending record does not decode"); err != nil {
				return err
			}
		}
		removed = int(recorded) + moved
		return nil
	})
	if err != nil {
		return fmt.Errorf("outbox: update journal: %w", err)
	}
	for code, n := range rejections {
		o.cfg.Logger.Error("outbox: ledger rejected entries; moved to dead", "code", code, "entries", n)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lastErr = nil
	o.recorded += recorded
	o.dead += moved
	o.pending -= removed
	if o.pending <= 0 {
		select {
		case <-o.drained:
		default:
			close(o.drained)
		}
	}
	return nil
}
