package outbox

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/internal/groupcommit"
)

// Bucket names in the node's bbolt file.
var (
	bucketPending = []byte("outbox/pending")
	bucketDead    = []byte("outbox/dead")
)

// Config configures an Outbox. Ledger is required; every other zero field
// takes the default in its comment.
type Config struct {
	// Ledger receives the entries, as this node's identity.
	Ledger accounting.Recorder
	// BatchSize is the number of entries per Record call. Default 200;
	// at most chaincode's MaxBatch (1000).
	BatchSize int
	// MinBackoff and MaxBackoff bound the wait after a failed batch; it
	// doubles from MinBackoff up to MaxBackoff, with the actual wait drawn
	// uniformly from its upper half. Defaults 250 ms and 30 s.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// CallTimeout bounds one Record call. Default 60 s.
	CallTimeout time.Duration
	// BatchDelay is how long the submitter waits, with fewer than
	// BatchSize entries pending, for more to share the next Record call
	// (Run, "Batching"). Default 250 ms; below zero, no wait.
	BatchDelay time.Duration
	// MarkDelay is how long the removal of recorded entries from the
	// journal may wait for a commit the node makes anyway (the next PutTx)
	// before the submitter commits it on its own (Run, "Delivery marks").
	// Default 1 s; below zero, at once after each batch.
	MarkDelay time.Duration
	// Logger receives submitter events. Default: discard.
	Logger *slog.Logger
	// Now is the clock for dead-entry timestamps. Default time.Now.
	Now func() time.Time
}

// Defaults of Config's zero fields.
const (
	DefaultBatchSize   = 200
	MaxBatchSize       = 1000
	DefaultMinBackoff  = 250 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
	DefaultCallTimeout = 60 * time.Second
	DefaultBatchDelay  = 250 * time.Millisecond
	DefaultMarkDelay   = time.Second
)

// DB is the database the journal lives in, as the outbox reads and writes
// it: a *bolt.DB, or the committer through which the node journals its
// entries (internal/groupcommit), which tells a writer its entry is
// durable before the transaction holding it commits; its View waits for
// that commit, so every read here sees every entry journalled before it.
type DB = groupcommit.DB

// Outbox is the journal and its submitter. It is safe for concurrent use.
type Outbox struct {
	db  DB
	cfg Config

	kick     chan struct{} // a pending entry may be waiting; buffered 1
	hurry    chan struct{} // Flush waits: send without BatchDelay; buffered 1
	submitMu sync.Mutex    // one batch in flight at a time (Run, Drain)

	mu      sync.Mutex
	pending int // entries in the pending bucket, less those in delivered
	// delivered holds the storage keys of pending entries the ledger has
	// answered recorded or duplicate for, whose removal from the bucket is
	// not committed yet (Run, "Delivery marks").
	delivered map[string]struct{}
	// riding is the transaction that carries delivered's removals, while
	// one does: the other PutTx calls of a shared transaction add nothing.
	riding *bolt.Tx
	// rides counts the commits that carried removals, so that the
	// submitter can tell whether a commit took its marks while it waited.
	rides uint64
	// gathering is set while the submitter waits for a batch to fill
	// (gather): an entry added then wakes it only if it fills the batch,
	// not to count again after every answer.
	gathering bool
	dead      int
	lastErr   error
	errs      uint64
	recorded  uint64
	drained   chan struct{} // closed when pending reaches 0, then replaced
}

// Open creates the outbox buckets in db if needed and counts what is
// pending from before a restart. The caller owns db and closes it after
// Run has returned.
func Open(db DB, cfg Config) (*Outbox, error) {
	if cfg.Ledger == nil {
		return nil, errors.New("outbox: no ledger")
	}
	if cfg.BatchSize < 0 || cfg.BatchSize > MaxBatchSize || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.CallTimeout < 0 {
		return nil, errors.New("outbox: config value out of range")
	}
	cfg.BatchSize = cmp.Or(cfg.BatchSize, DefaultBatchSize)
	cfg.MinBackoff = cmp.Or(cfg.MinBackoff, DefaultMinBackoff)
	cfg.MaxBackoff = cmp.Or(cfg.MaxBackoff, DefaultMaxBackoff)
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	cfg.CallTimeout = cmp.Or(cfg.CallTimeout, DefaultCallTimeout)
	cfg.BatchDelay = cmp.Or(cfg.BatchDelay, DefaultBatchDelay)
	cfg.MarkDelay = cmp.Or(cfg.MarkDelay, DefaultMarkDelay)
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	o := &Outbox{
		db: db, cfg: cfg, kick: make(chan struct{}, 1), hurry: make(chan struct{}, 1),
		delivered: map[string]struct{}{}, drained: make(chan struct{}),
	}
	err := db.Update(func(tx *bolt.Tx) error {
		p, err := tx.CreateBucketIfNotExists(bucketPending)
		if err != nil {
			return err
		}
		d, err := tx.CreateBucketIfNotExists(bucketDead)
		if err != nil {
			return err
		}
		o.pending, o.dead = p.Stats().KeyN, d.Stats().KeyN
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: open: %w", err)
	}
	if o.pending == 0 {
		close(o.drained)
	}
	o.wake()
	return o, nil
}

// PutTx journals e inside the caller's read-write transaction (JournalTx);
// the entry is durable when tx commits, and the submitter is woken then.
// The transaction also carries the removal of entries the ledger has
// recorded since the last such commit (Run, "Delivery marks").
func (o *Outbox) PutTx(tx *bolt.Tx, e accounting.Entry) (accounting.EntryKey, error) {
	key, added, err := JournalTx(tx, e)
	if err != nil {
		return key, err
	}
	if added {
		tx.OnCommit(func() { o.added(1) })
	}
	return key, o.unmarkTx(tx, tx.Bucket(bucketPending))
}

// JournalTx writes e to the journal in tx, a transaction of a database an
// Outbox was opened on, and reports whether it is new. The entry's key is
// derived from its header. Putting an identical entry again is a no-op; a
// different entry under a pending key is ErrConflict (the caller would be
// billing one exchange twice). Without an Outbox it neither wakes a
// submitter nor counts the entry (an Outbox opened after tx commits
// counts it): it is for replaying a node's own log of writes before its
// outbox is open (node/provider, when it opens its journal); PutTx is for
// everything else.
func JournalTx(tx *bolt.Tx, e accounting.Entry) (key accounting.EntryKey, added bool, err error) {
	key, err = keyOf(&e)
	if err != nil {
		return key, false, err
	}
	val, err := encodeEntry(&e)
	if err != nil {
		return key, false, err
	}
	b := tx.Bucket(bucketPending)
	if b == nil {
		return key, false, errors.New("outbox: bucket missing (Open not called on this database)")
	}
	k := storageKey(key)
	if old := b.Get(k); old != nil {
		if !bytes.Equal(old, val) {
			return key, false, ErrConflict
		}
		return key, false, nil
	}
	if err := b.Put(k, val); err != nil {
		return key, false, fmt.Errorf("outbox: put: %w", err)
	}
	return key, true, nil
}

// unmarkTx deletes the delivered entries from the pending bucket b of tx,
// once per transaction; they leave delivered when tx commits, and stay
// there for a later commit if it does not.
func (o *Outbox) unmarkTx(tx *bolt.Tx, b *bolt.Bucket) error {
	o.mu.Lock()
	if len(o.delivered) == 0 || o.riding == tx {
		o.mu.Unlock()
		return nil
	}
	o.riding = tx
	keys := make([]string, 0, len(o.delivered))
	for k := range o.delivered {
		keys = append(keys, k)
	}
	o.mu.Unlock()
	for _, k := range keys {
		if err := b.Delete([]byte(k)); err != nil {
			return fmt.Errorf("outbox: remove a recorded entry: %w", err)
		}
	}
	tx.OnCommit(func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		for _, k := range keys {
			delete(o.delivered, k)
		}
		o.riding = nil
		o.rides++
	})
	return nil
}

// Put journals e in its own transaction and returns once it is durable.
func (o *Outbox) Put(e accounting.Entry) (accounting.EntryKey, error) {
	var key accounting.EntryKey
	err := o.db.Update(func(tx *bolt.Tx) error {
		var err error
		key, err = o.PutTx(tx, e)
		return err
	})
	return key, err
}

// added counts n entries committed to pending. It runs after the commit,
// so the submitter may already have recorded and subtracted them: the
// count can be briefly negative, and drained is replaced only when the
// count goes from nothing pending to something.
func (o *Outbox) added(n int) {
	o.mu.Lock()
	before := o.pending
	o.pending += n
	if before <= 0 && o.pending > 0 {
		o.drained = make(chan struct{})
	}
	wake := !o.gathering || o.pending >= o.cfg.BatchSize
	o.mu.Unlock()
	if wake {
		o.wake()
	}
}

func (o *Outbox) wake() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// Depth is the number of entries waiting for the ledger: in the journal
// and not known to be recorded. An entry the ledger has recorded is not
// counted, though its removal from the journal may not be committed yet;
// after a crash such an entry counts again until the first batch re-sends
// it and the ledger answers duplicate (Run, "Delivery marks").
func (o *Outbox) Depth() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return max(o.pending, 0)
}

// DeadCount is the number of entries the ledger rejected permanently.
func (o *Outbox) DeadCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dead
}

// Recorded is the number of entries this process has seen recorded (or
// found already recorded) since Open.
func (o *Outbox) Recorded() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.recorded
}

// SubmitErrors is the number of Record calls that failed (and were retried
// or will be) since Open: a counter for the node's metrics.
func (o *Outbox) SubmitErrors() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.errs
}

// LastError is the error of the last failed Record call, nil once a call
// has succeeded since.
func (o *Outbox) LastError() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lastErr
}

// Drained returns a channel that is closed once no entry is pending. A
// test or a graceful stop waits on it (with Run still running).
func (o *Outbox) Drained() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.drained
}

// Flush waits until no entry is pending or ctx ends. The submitter sends
// what is pending without waiting BatchDelay.
func (o *Outbox) Flush(ctx context.Context) error {
	if err := o.settle(); err != nil {
		return fmt.Errorf("outbox: flush: %w", err)
	}
	select {
	case o.hurry <- struct{}{}:
	default:
	}
	o.wake()
	select {
	case <-o.Drained():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("outbox: flush with %d entries pending: %w", o.Depth(), ctx.Err())
	}
}

// settle returns once every entry journalled before the call is committed
// and counted (pending counts committed entries: PutTx's OnCommit): at
// once on a *bolt.DB, after the fold of what a committer holds (DB).
func (o *Outbox) settle() error {
	return groupcommit.Settle(o.db)
}

// Dead lists the dead entries, at most limit of them (all if limit <= 0).
func (o *Outbox) Dead(limit int) ([]DeadEntry, error) {
	var out []DeadEntry
	err := o.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDead).Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			d, err := decodeDead(v)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// Requeue moves dead entries whose ledger code is code (all of them if code
// is empty) back to pending, for a rejection whose cause an operator has
// since removed (an institution reactivated, a key re-registered). It
// returns how many moved.
func (o *Outbox) Requeue(code string) (int, error) {
	var moved int
	err := o.db.Update(func(tx *bolt.Tx) error {
		moved = 0
		dead, pending := tx.Bucket(bucketDead), tx.Bucket(bucketPending)
		var keys [][]byte
		var entries []accounting.Entry
		err := dead.ForEach(func(k, v []byte) error {
			d, err := decodeDead(v)
			if err != nil || (code != "" && d.Code != code) {
				return nil // an undecodable dead record stays where an operator can inspect it
			}
			keys = append(keys, bytes.Clone(k))
			entries = append(entries, d.Entry)
			return nil
		})
		if err != nil {
			return err
		}
		for i, k := range keys {
			val, err := encodeEntry(&entries[i])
			if err != nil {
				return err
			}
			if err := pending.Put(k, val); err != nil {
				return err
			}
			if err := dead.Delete(k); err != nil {
				return err
			}
		}
		moved = len(keys)
		if moved > 0 {
			tx.OnCommit(func() {
				o.mu.Lock()
				o.dead -= len(keys)
				o.mu.Unlock()
				o.added(len(keys))
			})
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("outbox: requeue: %w", err)
	}
	return moved, nil
}

// deliveredKeys copies the keys of the entries the ledger holds whose
// removal is not committed yet. A reader of the journal takes the copy
// before its view: a key that leaves the set later is gone from the view
// too, and one that joins it later is counted as still pending, which errs
// on the side of the entry being unrecorded.
func (o *Outbox) deliveredKeys() map[string]struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return maps.Clone(o.delivered)
}

// PendingAmounts returns, per requester, the amount of the entries waiting
// for the ledger: what this provider billed that the ledger does not show
// yet (node/provider adds it to the requester's exposure).
func (o *Outbox) PendingAmounts() (map[string]int64, error) {
	out := map[string]int64{}
	delivered := o.deliveredKeys()
	err := o.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPending).ForEach(func(k, v []byte) error {
			if _, ok := delivered[string(k)]; ok {
				return nil // on the ledger already, so in its exposures
			}
			e, err := decodeEntry(v)
			if err != nil {
				return nil // a corrupt record goes to the dead bucket at the next flush
			}
			key, err := keyOf(&e)
			if err != nil || string(k) != key.String() {
				return nil
			}
			out[key.Requester] += e.Amount
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: pending amounts: %w", err)
	}
	return out, nil
}

// PendingIn returns the number of entries of period waiting for the ledger
// (the backlog a provider reports while the period is in grace).
func (o *Outbox) PendingIn(period uint64) (uint64, error) {
	prefix := []byte(chaincode.EntryPrefix(period)) // storage keys are ledger keys
	var n uint64
	delivered := o.deliveredKeys()
	err := o.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPending).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if _, ok := delivered[string(k)]; !ok {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("outbox: pending in period %d: %w", period, err)
	}
	return n, nil
}
