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

// deliver sends d's queue, oldest first, one event at a time.
func (o *Outbox) deliver(ctx context.Context, d *dest) {
	failures := 0 // failed reads of the journal in a row
	for ctx.Err() == nil {
		key, ev, attempts, err := o.next(d)
		switch {
		case errors.Is(err, ErrCorrupt) && key != nil:
			o.kill(d, key, &riskmeshv1.PushEvent{}, 0, err)
			continue
		case err != nil:
			o.failed(d, err)
			o.cfg.Logger.Error("push journal unreadable", "destination", d.Name, "err", err)
			failures++
			_ = backoff.Sleep(ctx, o.wait(failures))
			continue
		case key == nil:
			select {
			case <-ctx.Done():
			case <-d.kick:
			}
			continue
		}
		failures = 0
		err = o.send(ctx, d, ev)
		switch {
		case err == nil:
			if err := o.finish(d, key, nil); err != nil {
				o.cfg.Logger.Error("push journal write failed", "destination", d.Name, "err", err)
				_ = backoff.Sleep(ctx, o.wait(1))
				continue
			}
			d.delivered.Add(1)
			d.mu.Lock()
			d.lastErr = nil
			d.mu.Unlock()
		case ctx.Err() != nil:
			return // stopping: the event stays at the head of the queue
		case errors.Is(err, ErrRejected) || attempts+1 >= o.cfg.MaxAttempts:
			o.kill(d, key, ev, attempts+1, err)
		default:
			attempts++
			d.retried.Add(1)
			o.failed(d, err)
			o.cfg.Logger.Warn("push delivery failed, will retry", "destination", d.Name, "event", ev.EventId,
				"attempts", attempts, "err", err)
			if err := o.attempted(d, key, attempts); err != nil {
				o.cfg.Logger.Error("push journal write failed", "destination", d.Name, "err", err)
			}
			_ = backoff.Sleep(ctx, o.wait(attempts))
		}
	}
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
	if err := o.finish(d, key, de); err != nil {
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
