package push

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/internal/backoff"
	"github.com/riskmesh/riskmesh/internal/printable"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// maxErrorLen bounds the error text kept with a dead event.
const maxErrorLen = 300

// Run delivers every destination's queue until ctx ends, and returns ctx's
// error.
func (o *Outbox) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, d := range o.dests {
		wg.Go(func() { o.deliver(ctx, d) })
	}
	wg.Wait()
	return ctx.Err()
}

// deliver sends d's queue, oldest first, one event at a time, reading it
// and marking what it delivered a batch at a time (batchEvents).
func (o *Outbox) deliver(ctx context.Context, d *dest) {
	failures := 0 // failed reads of the journal in a row
	for ctx.Err() == nil {
		queue, err := o.next(d)
		switch {
		case err != nil:
			o.failed(d, err)
			o.cfg.Logger.Error("push journal unreadable", "destination", d.Name, "err", err)
			failures++
			_ = backoff.Sleep(ctx, o.wait(failures))
			continue
		case len(queue) == 0:
			select {
			case <-ctx.Done():
			case <-d.kick:
			}
			continue
		}
		failures = 0
		o.sendQueue(ctx, d, queue)
	}
}

// sendQueue sends queue's events to d in order until one is not
// delivered, then takes those that were out of d's queue, in one write,
// before it deals with that one: dead, retried later, or left at the head
// of the queue if ctx ended.
func (o *Outbox) sendQueue(ctx context.Context, d *dest, queue []queued) {
	for i, q := range queue {
		err := q.err
		if err == nil {
			err = o.send(ctx, d, q.ev)
		}
		if err == nil {
			continue
		}
		o.delivered(ctx, d, queue[:i])
		switch {
		case q.err != nil:
			o.kill(d, q.key, &riskmeshv1.PushEvent{}, 0, q.err)
		case ctx.Err() != nil:
			// stopping: the event stays at the head of the queue
		case errors.Is(err, ErrRejected) || q.attempts+1 >= o.cfg.MaxAttempts:
			o.kill(d, q.key, q.ev, q.attempts+1, err)
		default:
			attempts := q.attempts + 1
			d.retried.Add(1)
			o.failed(d, err)
			o.cfg.Logger.Warn("push delivery failed, will retry", "destination", d.Name, "event", q.ev.EventId,
				"attempts", attempts, "err", err)
			if err := o.attempted(d, q.key, attempts); err != nil {
				o.cfg.Logger.Error("push journal write failed", "destination", d.Name, "err", err)
			}
			_ = backoff.Sleep(ctx, o.wait(attempts))
		}
		return
	}
	o.delivered(ctx, d, queue)
}

// delivered takes queue's events, which d has acknowledged, out of its
// queue. If that write fails they stay and are sent again: a destination
// may receive an event more than once (docs/api.md, "What delivery
// promises").
func (o *Outbox) delivered(ctx context.Context, d *dest, queue []queued) {
	if len(queue) == 0 {
		return
	}
	keys := make([][]byte, len(queue))
	for i, q := range queue {
		keys[i] = q.key
	}
	if err := o.finish(d, keys, nil); err != nil {
		o.cfg.Logger.Error("push journal write failed", "destination", d.Name, "err", err)
		_ = backoff.Sleep(ctx, o.wait(1))
		return
	}
	d.delivered.Add(uint64(len(queue)))
	d.mu.Lock()
	d.lastErr = nil
	d.mu.Unlock()
}

func (o *Outbox) send(ctx context.Context, d *dest, ev *riskmeshv1.PushEvent) error {
	body, err := encodeJSON(ev)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	return d.Sender.Send(ctx, Message{EventID: ev.EventId, Stream: ev.Stream, Body: body})
}

// kill moves the event under key to d's dead store.
func (o *Outbox) kill(d *dest, key []byte, ev *riskmeshv1.PushEvent, attempts int, cause error) {
	o.failed(d, cause)
	de := &riskmeshv1.DeadEvent{
		Destination: d.Name, EventId: ev.EventId, Type: ev.Type, Stream: ev.Stream, StreamSequence: ev.StreamSequence,
		Attempts: uint32(attempts), LastError: printable.String(cause.Error(), maxErrorLen), DiedAt: timestamppb.New(o.cfg.Now()),
	}
	if err := o.finish(d, [][]byte{key}, de); err != nil {
		o.cfg.Logger.Error("push journal write failed", "destination", d.Name, "err", err)
		return
	}
	d.killed.Add(1)
	o.cfg.Logger.Error("push event dead", "destination", d.Name, "event", ev.EventId, "attempts", attempts, "err", cause)
}

func (o *Outbox) failed(d *dest, err error) {
	d.mu.Lock()
	d.lastErr = err
	d.mu.Unlock()
}

// wait is the back-off after failures consecutive failures: doubling from
// MinBackoff to MaxBackoff, drawn from its upper half with Config.Rand.
func (o *Outbox) wait(failures int) time.Duration {
	d := backoff.Delay(o.cfg.MinBackoff, o.cfg.MaxBackoff, failures)
	var b [8]byte
	if _, err := io.ReadFull(o.cfg.Rand, b[:]); err != nil {
		return d // no jitter rather than no wait
	}
	return d/2 + time.Duration(binary.BigEndian.Uint64(b[:])%uint64(d/2+1))
}
