package push

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/internal/groupcommit"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Sender delivers one event to a receiver. It returns nil only once the
// receiver has acknowledged the event, and an error wrapping ErrRejected if
// the receiver will never take it.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Message is one event as a Sender delivers it.
type Message struct {
	// EventID is the event's idempotency key and Stream the stream it
	// belongs to (a broker that partitions keeps a stream in one
	// partition, so in order).
	EventID, Stream string
	// Body is the event's JSON encoding (docs/api.md, "Push delivery").
	Body []byte
}

// Destination is one receiver and the events it takes.
type Destination struct {
	// Name names the destination in metrics, logs and the dead store: 1 to
	// MaxNameLen bytes of [A-Za-z0-9._-]. Required.
	Name string
	// Events are the event types delivered. Empty: all.
	Events []riskmeshv1.PushEventType
	// Categories restricts query events to these categories. Empty: all.
	Categories []string
	// Sender delivers. Required.
	Sender Sender
}

// MaxNameLen bounds a destination name.
const MaxNameLen = 64

// Config configures an Outbox. DB and MSPID are required; every other zero
// field takes the default in its comment.
type Config struct {
	// DB is the node's bbolt file, or a committer in front of it; the
	// outbox uses its "push/..." buckets.
	DB groupcommit.DB
	// MSPID is this institution; it goes into every event id.
	MSPID string
	// Destinations receive the events. None: RecordTx journals nothing.
	Destinations []Destination
	// MaxAttempts is how many failed deliveries of one event make it dead.
	// Default 20 (with the default back-off, about two hours of outage).
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait after a failed delivery: it
	// doubles from MinBackoff up to MaxBackoff, the actual wait drawn
	// uniformly from its upper half. Defaults 1 s and 10 minutes.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Rand draws the back-off jitter. Default crypto/rand.
	Rand io.Reader
	// Now stamps events and dead records. Default time.Now.
	Now func() time.Time
	// Logger receives delivery events (destination, event id, error; never
	// an event's content). Default: discard.
	Logger *slog.Logger
	// Seal, if set, seals the journalled events in node.db (they carry
	// per-item hits; docs/operations.md, "Sealing node.db"). Nil: plain.
	Seal *seal.Keyring
}

// Defaults of Config's zero fields.
const (
	DefaultMaxAttempts = 20
	DefaultMinBackoff  = time.Second
	DefaultMaxBackoff  = 10 * time.Minute
)

// Bucket names in the node's bbolt file.
var (
	bucketEvents  = []byte("push/events")
	bucketStreams = []byte("push/streams")
)

const (
	pendingPrefix = "push/pending/"
	deadPrefix    = "push/dead/"
)

// Outbox journals events and delivers them. It is safe for concurrent use.
type Outbox struct {
	cfg   Config
	dests []*dest
}

// dest is a destination with its queue's state.
type dest struct {
	Destination
	pending, dead []byte // bucket names

	kick chan struct{} // an event may be waiting; buffered 1

	depth, deadN               atomic.Int64
	delivered, retried, killed atomic.Uint64
	mu                         sync.Mutex
	lastErr                    error
}

// Open creates the buckets of cfg's destinations in cfg.DB if needed. The
// caller owns the DB and closes it after Run has returned.
func Open(cfg Config) (*Outbox, error) {
	if cfg.DB == nil || !names.MSPID(cfg.MSPID) {
		return nil, fmt.Errorf("%w: DB and a valid MSPID are required", ErrConfig)
	}
	if cfg.MaxAttempts < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 {
		return nil, fmt.Errorf("%w: negative MaxAttempts or back-off", ErrConfig)
	}
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, DefaultMaxAttempts)
	cfg.MinBackoff = cmp.Or(cfg.MinBackoff, DefaultMinBackoff)
	cfg.MaxBackoff = max(cmp.Or(cfg.MaxBackoff, DefaultMaxBackoff), cfg.MinBackoff)
	cfg.Rand = cmp.Or[io.Reader](cfg.Rand, rand.Reader)
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	o := &Outbox{cfg: cfg}
	seen := map[string]bool{}
	for _, d := range cfg.Destinations {
		switch {
		case !names.Category(d.Name) || len(d.Name) > MaxNameLen:
			return nil, fmt.Errorf("%w: destination name %.80q", ErrConfig, d.Name)
		case seen[d.Name]:
			return nil, fmt.Errorf("%w: destination %s twice", ErrConfig, d.Name)
		case d.Sender == nil:
			return nil, fmt.Errorf("%w: destination %s has no sender", ErrConfig, d.Name)
		}
		seen[d.Name] = true
		o.dests = append(o.dests, &dest{Destination: d, pending: []byte(pendingPrefix + d.Name),
			dead: []byte(deadPrefix + d.Name), kick: make(chan struct{}, 1)})
	}
	err := cfg.DB.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEvents, bucketStreams} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		for _, d := range o.dests {
			p, err := tx.CreateBucketIfNotExists(d.pending)
			if err != nil {
				return err
			}
			dd, err := tx.CreateBucketIfNotExists(d.dead)
			if err != nil {
				return err
			}
			d.depth.Store(int64(p.Stats().KeyN))
			d.deadN.Store(int64(dd.Stats().KeyN))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("push: open: %w", err)
	}
	return o, nil
}

// Stats is one destination's delivery state.
type Stats struct {
	Destination string
	// Depth is the number of events waiting; Dead the number given up on.
	Depth, Dead int
	// Delivered, Retried and Killed count, since Open, the events
	// acknowledged, the failed deliveries retried and the events moved to
	// the dead store (counters for the node's metrics).
	Delivered, Retried, Killed uint64
	// LastError is the last delivery's error, nil once one succeeded.
	LastError error
}

// Stats reports every destination, in configuration order.
func (o *Outbox) Stats() []Stats {
	out := make([]Stats, 0, len(o.dests))
	for _, d := range o.dests {
		d.mu.Lock()
		last := d.lastErr
		d.mu.Unlock()
		out = append(out, Stats{Destination: d.Name, Depth: int(max(d.depth.Load(), 0)), Dead: int(max(d.deadN.Load(), 0)),
			Delivered: d.delivered.Load(), Retried: d.retried.Load(), Killed: d.killed.Load(), LastError: last})
	}
	return out
}

func (d *dest) wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

func (o *Outbox) dest(name string) (*dest, error) {
	for _, d := range o.dests {
		if d.Name == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%w: %.80q", ErrUnknownDestination, name)
}

// Close closes the destinations' senders that hold a connection (a
// JetStream's), after Run has returned.
func (o *Outbox) Close() {
	for _, d := range o.dests {
		if c, ok := d.Sender.(interface{ Close() }); ok {
			c.Close()
		}
	}
}
