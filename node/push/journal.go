package push

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// RecordTx journals ev inside the caller's read-write transaction, the one
// that records the change ev reports: both commit or neither. It fills in
// ev's stream, stream sequence, event id and, unless the caller set it,
// recording time (a caller that replays a logged change after a crash
// sets the time it recorded first, so the replay journals the same event:
// node/requester's log); the caller sets its type and content, and the
// query id of a query event. An event
// no destination takes is not stored (its stream sequence is still used,
// so sequences stay comparable when destinations change). The destinations
// are woken when tx commits.
func (o *Outbox) RecordTx(tx *bolt.Tx, ev *riskmeshv1.PushEvent) error {
	ev.Stream = streamOf(ev)
	if ev.Stream == "" || len(ev.Stream) > maxStreamLen {
		return fmt.Errorf("push: event stream of %d bytes", len(ev.Stream))
	}
	streams := tx.Bucket(bucketStreams)
	if streams == nil {
		return errors.New("push: buckets missing (Open not called on this database)")
	}
	var n uint64
	if v := streams.Get([]byte(ev.Stream)); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	n++
	if err := streams.Put([]byte(ev.Stream), binary.BigEndian.AppendUint64(nil, n)); err != nil {
		return fmt.Errorf("push: record: %w", err)
	}
	ev.StreamSequence, ev.EventId = n, eventID(o.cfg.MSPID, ev.Stream, n)
	if ev.RecordedAt == nil {
		ev.RecordedAt = timestamppb.New(o.cfg.Now())
	}
	var to []*dest
	for _, d := range o.dests {
		if d.wants(ev) {
			to = append(to, d)
		}
	}
	if len(to) == 0 {
		return nil
	}
	val, err := proto.Marshal(ev)
	if err != nil {
		return fmt.Errorf("push: encode event: %w", err)
	}
	events := tx.Bucket(bucketEvents)
	seq, err := events.NextSequence()
	if err != nil {
		return fmt.Errorf("push: record: %w", err)
	}
	key := binary.BigEndian.AppendUint64(nil, seq)
	if val, err = o.cfg.Seal.SealValue(bucketEvents, key, val); err != nil {
		return fmt.Errorf("push: record: %w", err)
	}
	if err := events.Put(key, val); err != nil {
		return fmt.Errorf("push: record: %w", err)
	}
	for _, d := range to {
		if err := tx.Bucket(d.pending).Put(key, nil); err != nil {
			return fmt.Errorf("push: record: %w", err)
		}
	}
	tx.OnCommit(func() {
		for _, d := range to {
			d.depth.Add(1)
			d.wake()
		}
	})
	return nil
}

// SealStore seals, in place, the journalled events in tx, a node.db
// written without sealing that is about to be opened with ring
// (docs/operations.md, "Sealing node.db"). The stream counters stay plain:
// they are numbers under query ids and entry keys.
func SealStore(tx *bolt.Tx, ring *seal.Keyring) error {
	if b := tx.Bucket(bucketEvents); b != nil {
		return ring.SealBucket(b, bucketEvents)
	}
	return nil
}

// PruneTx forgets, inside the caller's read-write transaction, the stream
// counters of the queries in queryIDs and of the billed entries of periods
// before minPeriod: the requester calls it (node/requester Config.Pruned)
// as it deletes those records, after which no event can be recorded on
// those streams, so a stream never restarts at 1 under an event id already
// used. Events still queued are kept and delivered.
func (o *Outbox) PruneTx(tx *bolt.Tx, queryIDs []string, minPeriod uint64) error {
	streams := tx.Bucket(bucketStreams)
	if streams == nil {
		return errors.New("push: buckets missing (Open not called on this database)")
	}
	for _, id := range queryIDs {
		if err := streams.Delete([]byte(id)); err != nil {
			return fmt.Errorf("push: prune: %w", err)
		}
	}
	var old [][]byte
	c := streams.Cursor()
	for k, _ := c.Seek([]byte(entryStreamPrefix)); bytes.HasPrefix(k, []byte(entryStreamPrefix)); k, _ = c.Next() {
		if p, ok := entryStreamPeriod(k); ok && p < minPeriod {
			old = append(old, bytes.Clone(k))
		}
	}
	for _, k := range old {
		if err := streams.Delete(k); err != nil {
			return fmt.Errorf("push: prune: %w", err)
		}
	}
	return nil
}

// ForgetDisputesTx forgets, inside the caller's read-write transaction,
// the stream counters of the disputes of the exchanges under keys: node/
// dispute calls it (AutoConfig.Forget) as it deletes their settled
// records, after which no event can be recorded on those streams.
func (o *Outbox) ForgetDisputesTx(tx *bolt.Tx, keys []*riskmeshv1.EntryKey) error {
	streams := tx.Bucket(bucketStreams)
	if streams == nil {
		return errors.New("push: buckets missing (Open not called on this database)")
	}
	for _, k := range keys {
		if err := streams.Delete([]byte(keyStream(disputeStreamPrefix, k))); err != nil {
			return fmt.Errorf("push: prune: %w", err)
		}
	}
	return nil
}

// A read of a destination's queue takes its oldest events up to
// batchEvents of them, and none more once batchBytes of stored events are
// taken (at least one, whatever its size); the delivered ones of them are
// taken out of the queue by one write (finish). A write per event kept a
// destination below the rate of a steady stream of queries: each waits
// for bbolt's writer, which the requester's log holds for up to
// groupcommit.FoldAfter at a time (docs/api.md, "What delivery promises").
const (
	batchEvents = 64
	batchBytes  = 1 << 20
)

// queued is a pending event read back: its key, the event and the failed
// deliveries of it counted so far. A stored event that does not decode
// comes with err (ErrCorrupt) instead, for the dead store.
type queued struct {
	key      []byte
	ev       *riskmeshv1.PushEvent
	attempts int
	err      error
}

// next returns d's oldest pending events, in order (batchEvents), none if
// none is pending. One that does not decode ends the list.
func (o *Outbox) next(d *dest) ([]queued, error) {
	var out []queued
	err := o.cfg.DB.View(func(tx *bolt.Tx) error {
		events, size := tx.Bucket(bucketEvents), 0
		c := tx.Bucket(d.pending).Cursor()
		for k, v := c.First(); k != nil && len(out) < batchEvents && size < batchBytes; k, v = c.Next() {
			q := queued{key: bytes.Clone(k), attempts: decodeAttempts(v)}
			stored := events.Get(k)
			size += len(stored)
			q.ev, q.err = o.open(k, stored)
			out = append(out, q)
			if q.err != nil {
				break
			}
		}
		return nil
	})
	return out, err
}

// open decodes the event stored under key.
func (o *Outbox) open(key, stored []byte) (*riskmeshv1.PushEvent, error) {
	if stored == nil {
		return nil, fmt.Errorf("%w: event %x missing", ErrCorrupt, key)
	}
	v, err := o.cfg.Seal.OpenValue(bucketEvents, key, stored)
	if err != nil {
		return nil, fmt.Errorf("%w: event %x: %w", ErrCorrupt, key, err)
	}
	return decodeStored(v)
}

// A pending entry's value is the number of failed deliveries of its event
// to that destination: empty for none, else 4 bytes big-endian. Keeping
// it in node.db means a restart does not give a failing event its full
// MaxAttempts again.

func decodeAttempts(v []byte) int {
	if len(v) != 4 {
		return 0
	}
	return int(min(binary.BigEndian.Uint32(v), math.MaxInt32))
}

// attempted records that the event under key has failed attempts times to
// reach d, if d still holds it.
func (o *Outbox) attempted(d *dest, key []byte, attempts int) error {
	return o.cfg.DB.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(d.pending)
		if b.Get(key) == nil {
			return nil
		}
		return b.Put(key, binary.BigEndian.AppendUint32(nil, uint32(min(attempts, math.MaxInt32))))
	})
}

// finish takes the events under keys out of d's queue: delivered if dead
// is nil, else (one key) into d's dead store. An event no destination
// still holds is deleted.
func (o *Outbox) finish(d *dest, keys [][]byte, dead *riskmeshv1.DeadEvent) error {
	var deadVal []byte
	if dead != nil {
		v, err := proto.Marshal(dead)
		if err != nil {
			return err
		}
		deadVal = v
	}
	return o.cfg.DB.Update(func(tx *bolt.Tx) error {
		for _, key := range keys {
			if err := tx.Bucket(d.pending).Delete(key); err != nil {
				return err
			}
			if dead != nil {
				if err := tx.Bucket(d.dead).Put(key, deadVal); err != nil {
					return err
				}
			} else if !held(tx, key) {
				if err := tx.Bucket(bucketEvents).Delete(key); err != nil {
					return err
				}
			}
		}
		tx.OnCommit(func() {
			d.depth.Add(-int64(len(keys)))
			if dead != nil {
				d.deadN.Add(int64(len(keys)))
			}
		})
		return nil
	})
}

// held reports whether a destination's queue or dead store, configured or
// not (one removed from the configuration keeps its queue for when it
// comes back), still holds the event under key.
func held(tx *bolt.Tx, key []byte) bool {
	found := false
	_ = tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		if (bytes.HasPrefix(name, []byte(pendingPrefix)) || bytes.HasPrefix(name, []byte(deadPrefix))) && b.Get(key) != nil {
			found = true
		}
		return nil
	})
	return found
}

// Dead lists the dead events of destination (every destination if
// empty), oldest first, at most limit of them (all if limit <= 0).
func (o *Outbox) Dead(destination string, limit int) ([]*riskmeshv1.DeadEvent, error) {
	dests := o.dests
	if destination != "" {
		d, err := o.dest(destination)
		if err != nil {
			return nil, err
		}
		dests = []*dest{d}
	}
	var out []*riskmeshv1.DeadEvent
	err := o.cfg.DB.View(func(tx *bolt.Tx) error {
		for _, d := range dests {
			c := tx.Bucket(d.dead).Cursor()
			for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
				de := new(riskmeshv1.DeadEvent)
				if len(v) > MaxEventSize || proto.Unmarshal(v, de) != nil {
					de = &riskmeshv1.DeadEvent{Destination: d.Name, LastError: "dead record does not decode"}
				}
				out = append(out, de)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("push: list dead events: %w", err)
	}
	return out, nil
}

// Replay moves the dead events of destination with the given event ids
// (all of them if none is given) back to its queue, where they take their
// original place: before every event recorded after them. It returns how
// many moved.
func (o *Outbox) Replay(destination string, eventIDs []string) (int, error) {
	d, err := o.dest(destination)
	if err != nil {
		return 0, err
	}
	var moved int
	err = o.cfg.DB.Update(func(tx *bolt.Tx) error {
		moved = 0
		dead, pending := tx.Bucket(d.dead), tx.Bucket(d.pending)
		var keys [][]byte
		err := dead.ForEach(func(k, v []byte) error {
			de := new(riskmeshv1.DeadEvent)
			if len(eventIDs) > 0 && (len(v) > MaxEventSize || proto.Unmarshal(v, de) != nil || !slices.Contains(eventIDs, de.EventId)) {
				return nil
			}
			keys = append(keys, bytes.Clone(k))
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := pending.Put(k, nil); err != nil {
				return err
			}
			if err := dead.Delete(k); err != nil {
				return err
			}
		}
		moved = len(keys)
		tx.OnCommit(func() {
			d.deadN.Add(-int64(len(keys)))
			d.depth.Add(int64(len(keys)))
			d.wake()
		})
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("push: replay: %w", err)
	}
	return moved, nil
}
