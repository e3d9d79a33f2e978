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
package groupcommit

import (
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Committer groups the writes of one database. Its methods may be called
// concurrently; the zero value is not usable (New).
type Committer struct {
	db *bolt.DB

	mu      sync.Mutex
	queue   []*write
	running bool // a commit is in flight; the queue waits for it
}

// write is one queued function and where its outcome goes.
type write struct {
	fn   func(*bolt.Tx) error
	done chan error // buffered
}

// New returns a Committer of db's writes.
func New(db *bolt.DB) *Committer { return &Committer{db: db} }

// DB is the database the Committer writes.
func (c *Committer) DB() *bolt.DB { return c.db }

// Update runs fn in a read-write transaction, possibly shared with other
// writers' functions (run one after another, each seeing what the earlier
// ones wrote), and returns once that transaction is durable, or fn's error
// (nothing fn wrote is then kept). fn may run more than once (package doc).
func (c *Committer) Update(fn func(*bolt.Tx) error) error {
	w := &write{fn: fn, done: make(chan error, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, w)
	lead := !c.running
	c.running = true
	c.mu.Unlock()
	if lead {
		c.lead()
	}
	return <-w.done
}

// lead commits the queue as one transaction. If writes queued meanwhile,
// a new goroutine commits them, so that this caller returns as soon as its
// own write is durable; otherwise the Committer goes idle.
func (c *Committer) lead() {
	c.mu.Lock()
	batch := c.queue
	c.queue = nil
	c.mu.Unlock()
	c.commit(batch)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		c.running = false
		return
	}
	go c.lead()
}

// commit runs batch in one transaction; if that fails, each function again
// in its own.
func (c *Committer) commit(batch []*write) {
	err := c.db.Update(func(tx *bolt.Tx) error {
		for _, w := range batch {
			if err := run(w.fn, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, w := range batch {
			w.done <- err
		}
		return
	}
	for _, w := range batch {
		w.done <- c.db.Update(func(tx *bolt.Tx) error { return run(w.fn, tx) })
	}
}

// Open returns a Committer of db's writes whose Log writes are durable
// once their record is in a log file of its own beside db (named by name,
// one per Committer of a file), with one fdatasync, instead of once bbolt
// has committed them with two; the commit that folds them into db follows
// off the writer's path. replay must write to tx exactly what the Log
// function a record came with wrote; Open replays, in order, the records
// a crash left unfolded before it returns.
//
// Stage one of the log (this commit) fixes the API only: Log is Update and
// the file is not written yet.
func Open(db *bolt.DB, name string, replay func(tx *bolt.Tx, rec []byte) error) (*Committer, error) {
	if name == "" || replay == nil {
		return nil, errors.New("groupcommit: a logged committer needs a name and a replay function")
	}
	return New(db), nil
}

// Log runs fn like Update and returns once rec, the record of what fn
// writes, is durable. fn must write to tx exactly what Open's replay
// writes for rec given the same state of tx, so that replaying rec after
// a crash yields what fn's caller was told: rec therefore carries every
// value fn writes that it does not read from tx (sealed values as
// sealed, times, random choices). rec is copied before Log returns.
func (c *Committer) Log(rec []byte, fn func(*bolt.Tx) error) error {
	return c.Update(fn)
}

// View runs fn in a read-only transaction that sees every write whose
// Update or Log returned before View was called.
func (c *Committer) View(fn func(*bolt.Tx) error) error {
	return c.db.View(fn)
}

// Close releases the log file; db stays open (it is the caller's).
func (c *Committer) Close() error { return nil }

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
