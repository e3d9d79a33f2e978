// Package groupcommit lets concurrent writers of one bbolt file share a
// commit, and so its fsyncs: a write that finds no commit in flight runs
// and commits at once, alone; writes that arrive while a commit is in
// flight queue, and the next commit runs all of them in one transaction.
// Under load the commits per second stay bounded by the disk while the
// writes they carry grow; an idle node pays nothing for it.
//
// bbolt's own DB.Batch groups too, but it holds every batch open for
// MaxBatchDelay (10 ms by default) waiting for company, which a lone
// one-identifier query would pay in full; here the commit in flight is the
// only wait.
//
// Like DB.Batch, a function may run more than once: when one function of
// a shared transaction fails, the transaction rolls back and every function
// of it runs again in a transaction of its own, so that one write's error
// is not another's. A function must therefore have no effect outside its
// transaction other than the last run's (tx.OnCommit is the place for
// effects after the commit). A function that refuses its write for a
// reason its caller's input decides (a replayed request) should return nil
// having written nothing and report the refusal by other means: an error
// costs every write of its transaction a commit of its own.
//
// A Committer opened with Open also has a log: a file of its own beside
// the database, where Log writes are made durable by one append and one
// fdatasync, where a bbolt commit takes two fdatasyncs (pages, then the
// meta page). The batch's bbolt commit follows the append on the same
// goroutine, off the Log callers' path, and folds the records into the
// database; Open replays the records a crash left unfolded. Between the
// two, the database's committed state lags what Log callers were told by
// one batch: View waits for the fold, so a reader that must see a write
// whose Log returned reads through it (docs/node.md, "Files").
package groupcommit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/internal/workers"
)

// foldedBucket maps a logged Committer's name to the number of the last
// record its database holds (uint64, big-endian), written by the commit
// that folds the record in.
var foldedBucket = []byte("groupcommit/folded")

// Committer groups the writes of one database. Its methods may be called
// concurrently; the zero value is not usable (New, Open).
type Committer struct {
	db *bolt.DB

	// Set by Open; nil for New's Committers. Only the leader touches log.
	log    *logFile
	name   []byte
	replay func(tx *bolt.Tx, rec []byte) error

	mu      sync.Mutex
	queue   []*write
	running bool // a commit is in flight; the queue waits for it
	// Record numbers: the last appended (its Log returned or will), and
	// the last folded into the database. View waits for folded.
	logged, folded uint64
	fold           *sync.Cond // on mu: folded moved, or failed was set
	// failed is set when a batch's records are durable but could not be
	// folded: the database lags the log until Open replays it, so every
	// later write and View fails with it.
	failed error
	closed bool

	// afterAppend, if set, runs between a batch's append and its fold
	// (tests: a crash there leaves the file as it is then).
	afterAppend func()
}

// write is one queued function and where its outcome goes.
type write struct {
	fn   func(*bolt.Tx) error
	rec  []byte     // the record of a Log write; nil for Update's
	done chan error // buffered
}

// ErrClosed is returned for writes after Close.
var ErrClosed = errors.New("groupcommit: committer closed")

// New returns a Committer of db's writes, without a log.
func New(db *bolt.DB) *Committer {
	c := &Committer{db: db}
	c.fold = sync.NewCond(&c.mu)
	return c
}

// Open returns a Committer of db's writes whose Log writes are durable
// once their record is in the log file <db's path>.<name>.log (one per
// Committer of a file), with one fdatasync; the bbolt commit that folds
// them into db follows off the writer's path. replay must write to tx
// exactly what the Log function a record came with wrote; Open replays,
// in order and in one commit, the records a crash left unfolded before it
// returns, and fails (the records stay) if one of them fails.
func Open(db *bolt.DB, name string, replay func(tx *bolt.Tx, rec []byte) error) (*Committer, error) {
	if name == "" || replay == nil {
		return nil, errors.New("groupcommit: a logged committer needs a name and a replay function")
	}
	log, recs, err := openLog(db.Path() + "." + name + ".log")
	if err != nil {
		return nil, err
	}
	c := New(db)
	c.log, c.name, c.replay = log, []byte(name), replay
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(foldedBucket)
		if err != nil {
			return err
		}
		if v := b.Get(c.name); len(v) == 8 {
			c.folded = binary.BigEndian.Uint64(v)
		}
		i := slices.IndexFunc(recs, func(r record) bool { return r.seq > c.folded })
		if i < 0 {
			return nil
		}
		if recs[i].seq != c.folded+1 {
			return fmt.Errorf("groupcommit: log %s resumes at record %d, the database holds up to %d", name, recs[i].seq, c.folded)
		}
		for _, r := range recs[i:] {
			if err := run(func(tx *bolt.Tx) error { return replay(tx, r.payload) }, tx); err != nil {
				return fmt.Errorf("groupcommit: replay record %d of log %s: %w", r.seq, name, err)
			}
			c.folded = r.seq
		}
		return b.Put(c.name, binary.BigEndian.AppendUint64(nil, c.folded))
	})
	if err != nil {
		log.close()
		return nil, err
	}
	// Numbers go on after every record the file holds, folded or not, so
	// that the older records behind the next batch never follow it.
	c.logged = c.folded
	if len(recs) > 0 {
		c.logged = max(c.logged, recs[len(recs)-1].seq)
	}
	c.folded = c.logged
	return c, nil
}

// Unfolded names the logs beside the database at dbPath, read in tx, that
// hold records the database does not (a crash left them for their
// Committer's Open to replay). Whatever rewrites the database's values in
// place must wait until they are folded: a record replays on the state
// its write first ran on.
func Unfolded(tx *bolt.Tx, dbPath string) ([]string, error) {
	paths, err := filepath.Glob(dbPath + ".*.log")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range paths {
		name := strings.TrimSuffix(strings.TrimPrefix(p, dbPath+"."), ".log")
		log, recs, err := openLog(p)
		if err != nil {
			return nil, err
		}
		log.close()
		var folded uint64
		if b := tx.Bucket(foldedBucket); b != nil {
			if v := b.Get([]byte(name)); len(v) == 8 {
				folded = binary.BigEndian.Uint64(v)
			}
		}
		if slices.ContainsFunc(recs, func(r record) bool { return r.seq > folded }) {
			names = append(names, name)
		}
	}
	return names, nil
}

// DB is the database the Committer writes.
func (c *Committer) DB() *bolt.DB { return c.db }

// Update runs fn in a read-write transaction, possibly shared with other
// writers' functions (run one after another, each seeing what the earlier
// ones wrote), and returns once that transaction is durable, or fn's error
// (nothing fn wrote is then kept). fn may run more than once (package doc).
func (c *Committer) Update(fn func(*bolt.Tx) error) error {
	return c.enqueue(&write{fn: fn, done: make(chan error, 1)})
}

// Log runs fn like Update and returns once rec, the record of what fn
// writes, is durable in the log; the commit that folds it into the
// database follows (Open). fn must write to tx exactly what Open's replay
// writes for rec given the same state of tx, so that replaying rec after
// a crash yields what fn's caller was told: rec therefore carries every
// value fn writes that it does not read from tx (sealed values as sealed,
// times, random choices). A Log sharing its batch with an Update returns
// after the fold, like the Update. rec is copied.
//
// A record over MaxRecord (a requester's rewrite carrying the transcripts
// of parts of some 64 MiB) is not logged: fn then runs as an Update,
// durable once bbolt has committed it, which for a write that size costs
// little more than its append would.
func (c *Committer) Log(rec []byte, fn func(*bolt.Tx) error) error {
	if c.log == nil {
		return errors.New("groupcommit: Log on a committer without a log (Open)")
	}
	if len(rec) == 0 {
		return errors.New("groupcommit: an empty record")
	}
	if len(rec) > MaxRecord {
		return c.Update(fn)
	}
	return c.enqueue(&write{fn: fn, rec: slices.Clone(rec), done: make(chan error, 1)})
}

// LogMessage is Log with m's protobuf encoding as the record: the one
// shape in which the node's packages log their writes.
func (c *Committer) LogMessage(m proto.Message, fn func(*bolt.Tx) error) error {
	rec, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("groupcommit: encode a %s record: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	return c.Log(rec, fn)
}

func (c *Committer) enqueue(w *write) error {
	c.mu.Lock()
	if err := c.unusable(); err != nil {
		c.mu.Unlock()
		return err
	}
	c.queue = append(c.queue, w)
	lead := !c.running
	c.running = true
	c.mu.Unlock()
	if lead {
		c.lead()
	}
	return <-w.done
}

// unusable is why the Committer takes no more writes, if it does not.
// Called with mu held.
func (c *Committer) unusable() error {
	if c.closed {
		return ErrClosed
	}
	return c.failed
}

// View runs fn in a read-only transaction that sees every write whose
// Update or Log returned before View was called. It must not be called
// while holding a transaction of the same database (an Update or Log
// function, tx.OnCommit): the fold it may wait for needs the database's
// writer.
func (c *Committer) View(fn func(*bolt.Tx) error) error {
	c.mu.Lock()
	for want := c.logged; c.folded < want && c.failed == nil; {
		c.fold.Wait()
	}
	err := c.failed
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.db.View(fn)
}

// Close waits for the commit in flight and releases the log file; later
// writes fail with ErrClosed. db stays open (it is the caller's).
func (c *Committer) Close() error {
	c.mu.Lock()
	c.closed = true
	for c.running {
		c.fold.Wait()
	}
	c.mu.Unlock()
	if c.log == nil {
		return nil
	}
	return c.log.close()
}

// lead commits the queue as one transaction. If writes queued meanwhile,
// another goroutine commits them, so that this caller returns as soon as
// its own write is durable; otherwise the Committer goes idle. A batch of
// Log writes is folded on another goroutine too, once they are released.
// Those goroutines are the process's idle workers when any wait
// (internal/workers): a fold is a bbolt commit, whose call chain would
// grow a new goroutine's stack anew for every batch.
func (c *Committer) lead() {
	c.mu.Lock()
	batch := c.queue
	c.queue = nil
	c.mu.Unlock()
	if fold := c.commit(batch); fold != nil {
		workers.Go(func() {
			fold() // a failure fails the Committer (fail): nobody waits for it here
			c.next()
		})
		return
	}
	c.next()
}

// next hands the writes queued during a commit to a new leader, or makes
// the Committer idle.
func (c *Committer) next() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		c.running = false
		c.fold.Broadcast() // Close may be waiting
		return
	}
	if err := c.unusable(); err != nil {
		for _, w := range c.queue {
			w.done <- err
		}
		c.queue, c.running = nil, false
		c.fold.Broadcast()
		return
	}
	workers.Go(c.lead)
}

// commit runs batch in one transaction; if a function fails, each again
// in its own. It returns the fold of a batch whose Log writes it released
// before folding them, for the caller to run before the next transaction.
func (c *Committer) commit(batch []*write) (fold func() error) {
	tx, err := c.db.Begin(true)
	if err != nil {
		for _, w := range batch {
			w.done <- err
		}
		return nil
	}
	for _, w := range batch {
		if err = run(w.fn, tx); err != nil {
			break
		}
	}
	if err != nil {
		tx.Rollback()
		if len(batch) == 1 {
			batch[0].done <- err
			return nil
		}
		for _, w := range batch {
			if fold := c.commit([]*write{w}); fold != nil {
				fold()
			}
		}
		return nil
	}
	recs := make([][]byte, 0, len(batch))
	for _, w := range batch {
		if w.rec != nil {
			recs = append(recs, w.rec)
		}
	}
	if len(recs) == 0 {
		err = tx.Commit()
		for _, w := range batch {
			w.done <- err
		}
		return nil
	}
	return c.commitLogged(tx, batch, recs)
}

// commitLogged appends the records of batch's Log writes and, if the
// batch has no Update (whose callers were promised the fold), releases
// them and returns the fold; otherwise it folds at once and releases all.
func (c *Committer) commitLogged(tx *bolt.Tx, batch []*write, recs [][]byte) (fold func() error) {
	c.mu.Lock()
	first := c.logged + 1
	c.mu.Unlock()
	last := first + uint64(len(recs)) - 1
	err := c.putFolded(tx, last)
	if err == nil {
		err = c.log.appendRecords(first, recs)
	}
	if err != nil {
		// The file may hold some of the records, which Open would replay:
		// numbers must not be reused, nor the file written again.
		tx.Rollback()
		c.fail(fmt.Errorf("groupcommit: log %s: %w", c.name, err))
		for _, w := range batch {
			w.done <- err
		}
		return nil
	}
	c.mu.Lock()
	c.logged = last
	c.mu.Unlock()
	fold = func() error {
		if c.afterAppend != nil {
			c.afterAppend()
		}
		err := tx.Commit()
		if err != nil {
			// The records are durable and their writers told so: fold
			// them again from the records, as Open would.
			err = c.db.Update(func(tx *bolt.Tx) error {
				for _, rec := range recs {
					if err := run(func(tx *bolt.Tx) error { return c.replay(tx, rec) }, tx); err != nil {
						return err
					}
				}
				return c.putFolded(tx, last)
			})
		}
		if err != nil {
			err = fmt.Errorf("groupcommit: fold log %s: %w", c.name, err)
			c.fail(err)
			return err
		}
		c.log.rewind()
		c.mu.Lock()
		c.folded = last
		c.fold.Broadcast()
		c.mu.Unlock()
		return nil
	}
	if slices.ContainsFunc(batch, func(w *write) bool { return w.rec == nil }) {
		err := fold()
		for _, w := range batch {
			w.done <- err
		}
		return nil
	}
	for _, w := range batch {
		w.done <- nil
	}
	return fold
}

// putFolded records in tx that the database holds the log's records up to
// number last.
func (c *Committer) putFolded(tx *bolt.Tx, last uint64) error {
	b, err := tx.CreateBucketIfNotExists(foldedBucket)
	if err != nil {
		return err
	}
	return b.Put(c.name, binary.BigEndian.AppendUint64(nil, last))
}

// fail makes the Committer refuse every later write and View with err.
func (c *Committer) fail(err error) {
	c.mu.Lock()
	if c.failed == nil {
		c.failed = err
	}
	c.fold.Broadcast()
	c.mu.Unlock()
}

// ErrPanicked wraps the value of a function that panicked: its writer gets
// the error, and the writers queued behind it are not left waiting.
var ErrPanicked = errors.New("groupcommit: write panicked")

func run(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %v", ErrPanicked, v)
		}
	}()
	return fn(tx)
}
