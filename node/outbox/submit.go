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
// While it waits, an entry committed wakes it only if it fills the batch:
// a provider answering one query at a time would otherwise wake the
// submitter once per answer, for nothing.
//
// Delivery marks: an entry the ledger answered recorded or duplicate
// leaves Depth at once, but its removal from the journal is not committed
// on its own. It rides in the node's next journal commit (PutTx: the
// provider commits one per answer anyway), or, if none comes within
// MarkDelay or BatchSize removals are waiting, in a commit of the
// submitter's; Run and Drain commit what is left before they return. A
// removal need not be durable by itself because Record is idempotent: an
// entry whose removal a crash lost is pending again after the restart,
// is sent again, comes back duplicate and is removed then, so the ledger
// still holds it once. What it saves is a commit, two fdatasyncs, per
// batch beside the answers' own.
func (o *Outbox) Run(ctx context.Context) error {
	defer o.commitMarks()
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
			if err := o.idle(ctx); err != nil {
				return err
			}
		}
	}
}

// idle waits for a kick or ctx's end (its error). While removals wait for
// a commit to ride in, it commits them itself once MarkDelay has passed
// without one.
func (o *Outbox) idle(ctx context.Context) error {
	o.mu.Lock()
	marks, rides := len(o.delivered), o.rides
	o.mu.Unlock()
	var expired <-chan time.Time
	if marks > 0 {
		t := time.NewTimer(o.cfg.MarkDelay)
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-o.kick:
	case <-expired:
		o.mu.Lock()
		stale := o.rides == rides
		o.mu.Unlock()
		if stale { // no commit carried them meanwhile
			o.commitMarks()
		}
	}
	return nil
}

// commitMarks commits the removals waiting in delivered, in a transaction
// of their own; a failure is logged, and they wait for the next commit.
func (o *Outbox) commitMarks() {
	o.mu.Lock()
	marks := len(o.delivered)
	o.mu.Unlock()
	if marks == 0 {
		return
	}
	err := o.db.Update(func(tx *bolt.Tx) error {
		return o.unmarkTx(tx, tx.Bucket(bucketPending))
	})
	if err != nil {
		o.cfg.Logger.Warn("outbox: remove recorded entries from the journal", "err", err)
	}
}

// gather waits until BatchSize entries are pending, BatchDelay has passed,
// Flush hurries the submitter or ctx ends (its error).
func (o *Outbox) gather(ctx context.Context) error {
	if o.cfg.BatchDelay <= 0 || !o.startGathering() {
		return nil
	}
	defer o.stopGathering()
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
		case <-o.kick: // the batch filled (added), or a kick from before: count again
		}
	}
	return nil
}

// startGathering reports whether the batch is short of BatchSize and, if
// so, marks the submitter as gathering until stopGathering: from then on
// added kicks it only when the batch fills, so a batch gathered over
// BatchDelay costs one wake-up rather than one per entry.
func (o *Outbox) startGathering() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.gathering = o.pending < o.cfg.BatchSize
	return o.gathering
}

func (o *Outbox) stopGathering() {
	o.mu.Lock()
	o.gathering = false
	o.mu.Unlock()
}

// Drain submits pending entries in the calling goroutine until none is
// pending or ctx ends, retrying failed batches with the same back-off as
// Run. It is for a graceful stop after Run has returned (Flush needs Run);
// it may also run beside Run, which it then takes turns with.
func (o *Outbox) Drain(ctx context.Context) error {
	if err := o.settle(); err != nil {
		return fmt.Errorf("outbox: drain: %w", err)
	}
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
	o.commitMarks()
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
	delivered := o.deliveredKeys()
	err = o.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPending).Cursor()
		for k, v := c.First(); k != nil && len(batch) < o.cfg.BatchSize; k, v = c.Next() {
			if _, ok := delivered[string(k)]; ok {
				continue // recorded; its removal waits for a commit
			}
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

// apply marks recorded and duplicate entries delivered (Run, "Delivery
// marks") and moves rejected and corrupt ones to the dead bucket, in one
// transaction that also carries the removals waiting for a commit.
func (o *Outbox) apply(batch []pendingEntry, outcomes []accounting.Outcome, corrupt []pendingEntry) error {
	var delivered [][]byte
	type burial struct {
		key, raw     []byte
		code, detail string
	}
	buried := make([]burial, 0, len(corrupt))
	for i, oc := range outcomes {
		p := &batch[i]
		if oc.Status != accounting.OutcomeRejected {
			delivered = append(delivered, p.key)
			continue
		}
		raw, err := encodeEntry(&p.entry)
		if err != nil {
			return err
		}
		buried = append(buried, burial{p.key, raw, string(oc.Code), oc.Detail})
	}
	for _, p := range corrupt {
		buried = append(buried, burial{p.key, p.raw, codeCorrupt, "pending record does not decode"})
	}
	rejections := map[string]int{} // code -> count, for the log
	if len(buried) > 0 {
		now := o.cfg.Now().Unix()
		err := o.db.Update(func(tx *bolt.Tx) error {
			clear(rejections)
			pending, dead := tx.Bucket(bucketPending), tx.Bucket(bucketDead)
			for _, b := range buried {
				rec, err := encodeDead(b.raw, b.code, b.detail, now)
				if err != nil {
					return err
				}
				if err := dead.Put(b.key, rec); err != nil {
					return err
				}
				if err := pending.Delete(b.key); err != nil {
					return err
				}
				rejections[b.code]++
			}
			return o.unmarkTx(tx, pending)
		})
		if err != nil {
			return fmt.Errorf("outbox: update journal: %w", err)
		}
	}
	for code, n := range rejections {
		o.cfg.Logger.Error("outbox: ledger rejected entries; moved to dead", "code", code, "entries", n)
	}
	o.mu.Lock()
	for _, k := range delivered {
		o.delivered[string(k)] = struct{}{}
	}
	marks := len(o.delivered)
	o.lastErr = nil
	o.recorded += uint64(len(delivered))
	o.dead += len(buried)
	o.pending -= len(delivered) + len(buried)
	if o.pending <= 0 {
		select {
		case <-o.drained:
		default:
			close(o.drained)
		}
	}
	o.mu.Unlock()
	if marks >= o.cfg.BatchSize {
		o.commitMarks() // bounds what a crash makes the node send again
	}
	return nil
}
