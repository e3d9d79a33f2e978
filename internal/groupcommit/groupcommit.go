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
// meta page). The batch's transaction stays open after the append, off
// the Log callers' path, and the Log writes that come within FoldAfter
// run in it too (on their writers' goroutines when it is free), each
// durable by its own append; one bbolt commit then folds them all into
// the database, so that a node answering one query after another pays
// one commit for several. Open replays the
// records a crash left unfolded. Until the fold, the database's committed
// state lags what Log callers were told: View brings the fold forward and
// waits for it, so a reader that must see a write whose Log returned
// reads through it (docs/node.md, "Files"). An Update, Close, or a log
// about to outgrow its preallocated size bring it forward too. Writers
// that use the database directly wait for the open transaction like for
// any other: at most FoldAfter and a commit.
package groupcommit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/internal/workers"
)

// foldedBucket maps a logged Committer's name to the number of the last
// record its database holds (uint64, big-endian), written by the commit
// that folds the record in.
var foldedBucket = []byte("groupcommit/folded")

// FoldAfter is how long a logged batch's transaction stays open for the
// Log writes that follow it before it is folded. A one-identifier query
// makes a write to each of the requester's and the provider's logs every
// few milliseconds when queries follow one another, and a fold (a bbolt
// commit, two fdatasyncs) cost those nodes a fifth of their CPU when each
// batch was folded alone (docs/benchmarks.md, "Folds held open"). Forty
// milliseconds took 16 % off the node CPU of such a query against ten,
// and a fifth off its median with three providers ("Folds held for 40 ms"
// there). What waits for a fold meanwhile: a direct writer of the
// database (the node's own writers that a caller waits for go through
// Update, which folds at once), an OnCommit effect (a push delivery or a
// bill's submission woken) and a View, which brings the fold forward.
const FoldAfter = 40 * time.Millisecond

// DB is a database as a package that keeps buckets in a node's node.db
// reads and writes it: a *bolt.DB, or a Committer in front of one, whose
// View waits for the fold of every write it told durable and whose Update
// folds a held transaction at once instead of waiting behind it for
// bbolt's writer (package doc). Such packages take a DB so that the node
// can hand them either.
type DB interface {
	View(fn func(*bolt.Tx) error) error
	Update(fn func(*bolt.Tx) error) error
}

// Settle returns once db holds every write told durable before the call:
// at once for a *bolt.DB; for a Committer, after the fold of what it holds
// open, which the View brings forward.
func Settle(db DB) error { return db.View(func(*bolt.Tx) error { return nil }) }

// Committer groups the writes of one database. Its methods may be called
// concurrently; the zero value is not usable (New, Open).
type Committer struct {
	db *bolt.DB

	// Set by Open; nil for New's Committers. log is touched only by the
	// leader while nothing is held open, or by whoever joins what is (open).
	log    *logFile
	name   []byte
	replay func(tx *bolt.Tx, rec []byte) error

	mu      sync.Mutex
	queue   []*write
	running bool // a commit is in flight or held open; the queue waits for it
	// Record numbers: the last appended (its Log returned or will), and
	// the last folded into the database. View waits for folded.
	logged, folded uint64
	fold           *sync.Cond // on mu: folded moved, or failed was set
	// open is the transaction held open for more Log writes (hold), nil
	// when there is none; joining says a writer is running its write in
	// it (join). Whoever holds joining, or leads while open is nil, is
	// the only one touching the log file.
	open    *openFold
	joining bool
	// awaitJoin says the holder waits for the joining writer to finish.
	awaitJoin bool
	// foldNow asks the holder of an open fold to fold at once: a View
	// waits for it. wake (one slot) tells the holder to look again at
	// open, joining, the queue, foldNow and closed.
	foldNow bool
	wake    chan struct{}
	// holdFor is how long a fold is held open: FoldAfter (tests change it).
	holdFor time.Duration
	// failed is set when a batch's records are durable but could not be
	// folded: the database lags the log until Open replays it, so every
	// later write and View fails with it.
	failed error
	closed bool

	// afterAppend, if set, runs between the last append of a held
	// transaction and its fold (tests: a crash there leaves the file as it
	// is then).
	afterAppend func()
}

// openFold is a transaction whose Log writes are durable in the log and
// released, and not yet committed into the database.
type openFold struct {
	tx   *bolt.Tx
	recs [][]byte // its records, in order
	last uint64   // the number of the last of them
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
	c := &Committer{db: db, wake: make(chan struct{}, 1), holdFor: FoldAfter}
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
	if len(rec) <= MaxRecord { // a larger one is not kept
		rec = slices.Clone(rec)
	}
	return c.logOwned(rec, fn)
}

// LogMessage is Log with m's protobuf encoding as the record: the one
// shape in which the node's packages log their writes. The encoding is
// fresh, so it is logged without Log's copy.
func (c *Committer) LogMessage(m proto.Message, fn func(*bolt.Tx) error) error {
	rec, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("groupcommit: encode a %s record: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	return c.logOwned(rec, fn)
}

// logOwned is Log of a record nobody else holds.
func (c *Committer) logOwned(rec []byte, fn func(*bolt.Tx) error) error {
	if c.log == nil {
		return errors.New("groupcommit: Log on a committer without a log (Open)")
	}
	if len(rec) == 0 {
		return errors.New("groupcommit: an empty record")
	}
	if len(rec) > MaxRecord {
		return c.Update(fn)
	}
	return c.enqueue(&write{fn: fn, rec: rec, done: make(chan error, 1)})
}

func (c *Committer) enqueue(w *write) error {
	c.mu.Lock()
	if err := c.unusable(); err != nil {
		c.mu.Unlock()
		return err
	}
	if o := c.open; o != nil && !c.joining && !c.foldNow && len(c.queue) == 0 && c.fits([]*write{w}) {
		// The writer runs its own write in the held transaction: handing
		// it to the holder's goroutine and back costs two wake-ups of
		// another core, which added 40–110 µs to a 300 µs write on the
		// project's virtual machine (docs/benchmarks.md, "Folds held
		// open").
		c.joining = true
		c.mu.Unlock()
		c.join(o, []*write{w})
		return <-w.done
	}
	c.queue = append(c.queue, w)
	lead := !c.running
	c.running = true
	c.mu.Unlock()
	if lead {
		c.lead()
	} else {
		c.signal()
	}
	return <-w.done
}

// signal wakes the holder of an open fold, if there is one; a signal
// nobody takes is harmless, as the holder looks again each time.
func (c *Committer) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
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
		c.foldNow = true
		c.signal()
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
	c.signal()
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
// Log writes is held open and folded on another goroutine (hold), once
// they are released. Those goroutines are the process's idle workers when
// any wait (internal/workers): a fold is a bbolt commit, whose call chain
// would grow a new goroutine's stack anew for every batch.
func (c *Committer) lead() {
	c.mu.Lock()
	batch := c.queue
	c.queue = nil
	c.mu.Unlock()
	if o := c.commit(batch); o != nil {
		c.mu.Lock()
		c.open = o
		c.mu.Unlock()
		workers.Go(func() {
			c.hold() // a failure fails the Committer (fail): nobody waits for it here
			c.next()
		})
		return
	}
	c.next()
}

// hold keeps c.open open for holdFor, for the Log writes that follow: a
// writer that finds it free runs its write in it itself (enqueue), and
// the writes that queued behind one are run here, as a batch (join).
// Then it folds c.open. It folds at once when a View or Close waits, when
// the queue holds an Update (whose caller was promised the fold; next
// commits it after) or when the queued records would not fit the log's
// preallocated size. A join whose function failed may have folded c.open
// already (extend): there is then nothing left to hold.
func (c *Committer) hold() {
	timer := time.NewTimer(c.holdFor)
	defer timer.Stop()
	expired := false
	for {
		c.mu.Lock()
		o := c.open
		if o == nil {
			c.mu.Unlock()
			return
		}
		if c.joining {
			c.awaitJoin = true
			c.mu.Unlock()
			<-c.wake // the joining writer signals when it is done
			continue
		}
		c.awaitJoin = false
		batch, now := c.queue, expired || c.foldNow || c.closed
		join := len(batch) > 0 && !now && c.fits(batch)
		fold := !join && (now || len(batch) > 0)
		switch {
		case join:
			c.queue, c.joining = nil, true
		case fold:
			c.open = nil // nobody joins it any more
		}
		c.mu.Unlock()
		switch {
		case join:
			c.join(o, batch)
		case fold:
			c.foldOpen(o)
			return
		default:
			select {
			case <-c.wake:
			case <-timer.C:
				expired = true
			}
		}
	}
}

// join runs batch in o, the held transaction, for a caller that has set
// joining, and hands back what is held open afterwards. It wakes the
// holder only when there is something for it to look at: waking another
// goroutine costs the writer a wake-up of another core.
func (c *Committer) join(o *openFold, batch []*write) {
	held := c.extend(o, batch)
	c.mu.Lock()
	c.open, c.joining = held, false
	wake := c.awaitJoin || held != o || len(c.queue) > 0 || c.foldNow || c.closed
	c.mu.Unlock()
	if wake {
		c.signal()
	}
}

// fits reports whether batch holds only Log writes whose records fit in
// the log after those appended since its last rewind. It is called with
// mu held, while a transaction is held open and nobody joins it: the log
// is then still.
func (c *Committer) fits(batch []*write) bool {
	size := c.log.off
	for _, w := range batch {
		if w.rec == nil {
			return false
		}
		size += headerSize + int64(len(w.rec))
	}
	return size <= preallocate
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
// in its own. It returns the transaction of a batch whose Log writes it
// released before folding them, for the caller to hold and fold before
// the next transaction.
func (c *Committer) commit(batch []*write) *openFold {
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
			if o := c.commit([]*write{w}); o != nil {
				c.foldOpen(o)
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
// them and returns their transaction, open; otherwise it folds at once and
// releases all.
func (c *Committer) commitLogged(tx *bolt.Tx, batch []*write, recs [][]byte) *openFold {
	o := &openFold{tx: tx}
	if err := c.appendTo(o, recs); err != nil {
		release(batch, err)
		return nil
	}
	if slices.ContainsFunc(batch, func(w *write) bool { return w.rec == nil }) {
		release(batch, c.foldOpen(o))
		return nil
	}
	release(batch, nil)
	return o
}

// extend runs batch, Log writes that came while o was held open, in o's
// transaction and appends their records. A function that fails cannot
// be rolled back alone: o's transaction is then dropped, its writes
// folded again from their records (refold), and batch committed afresh,
// which runs each function alone if need be. It returns the transaction
// open afterwards, if any.
func (c *Committer) extend(o *openFold, batch []*write) *openFold {
	recs := make([][]byte, 0, len(batch))
	for _, w := range batch {
		if err := run(w.fn, o.tx); err != nil {
			o.tx.Rollback()
			if err := c.refold(o); err != nil {
				release(batch, err)
				return nil
			}
			return c.commit(batch)
		}
		recs = append(recs, w.rec)
	}
	if err := c.appendTo(o, recs); err != nil {
		release(batch, err)
		return nil
	}
	release(batch, nil)
	return o
}

// appendTo numbers recs, the records of writes just run in o's
// transaction, and appends them to the log after o's. If that fails, the
// file may hold some of them, which Open would replay: numbers must not be
// reused, nor the file written again, so the Committer fails.
func (c *Committer) appendTo(o *openFold, recs [][]byte) error {
	c.mu.Lock()
	first := c.logged + 1
	c.mu.Unlock()
	last := first + uint64(len(recs)) - 1
	err := c.putFolded(o.tx, last)
	if err == nil {
		err = c.log.appendRecords(first, recs)
	}
	if err != nil {
		o.tx.Rollback()
		c.fail(fmt.Errorf("groupcommit: log %s: %w", c.name, err))
		return err
	}
	c.mu.Lock()
	c.logged = last
	c.mu.Unlock()
	o.recs, o.last = append(o.recs, recs...), last
	return nil
}

// foldOpen commits o into the database. If the commit fails, the records
// are durable and their writers told so: they are folded again from the
// records, as Open would.
func (c *Committer) foldOpen(o *openFold) error {
	if c.afterAppend != nil {
		c.afterAppend()
	}
	if err := o.tx.Commit(); err != nil {
		return c.refold(o)
	}
	c.markFolded(o.last)
	return nil
}

// refold writes o's records into the database by replaying them, after
// o's own transaction was lost; failing that, the Committer fails.
func (c *Committer) refold(o *openFold) error {
	err := c.db.Update(func(tx *bolt.Tx) error {
		for _, rec := range o.recs {
			if err := run(func(tx *bolt.Tx) error { return c.replay(tx, rec) }, tx); err != nil {
				return err
			}
		}
		return c.putFolded(tx, o.last)
	})
	if err != nil {
		err = fmt.Errorf("groupcommit: fold log %s: %w", c.name, err)
		c.fail(err)
		return err
	}
	c.markFolded(o.last)
	return nil
}

// markFolded notes that the database holds the records up to last: the
// log starts again from its beginning, and the Views waiting are released.
func (c *Committer) markFolded(last uint64) {
	c.log.rewind()
	c.mu.Lock()
	c.folded = last
	c.foldNow = false
	c.fold.Broadcast()
	c.mu.Unlock()
}

// release gives every writer of batch err.
func release(batch []*write, err error) {
	for _, w := range batch {
		w.done <- err
	}
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
