package groupcommit

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/internal/testwait"
)

var bucket = []byte("b")

func open(t *testing.T) *Committer {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucket); return err }); err != nil {
		t.Fatal(err)
	}
	return New(db)
}

func put(key string) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(key), []byte(key)) }
}

func stored(t *testing.T, c *Committer, key string) bool {
	t.Helper()
	var ok bool
	if err := c.DB().View(func(tx *bolt.Tx) error { ok = tx.Bucket(bucket).Get([]byte(key)) != nil; return nil }); err != nil {
		t.Fatal(err)
	}
	return ok
}

// queued is the number of writes waiting for the commit in flight.
func (c *Committer) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// waitQueued waits until n writes wait for the commit in flight.
func waitQueued(t *testing.T, c *Committer, n int) {
	t.Helper()
	testwait.Until(t, "writes queued", 10*time.Second, func() error {
		if q := c.queued(); q != n {
			return fmt.Errorf("%d queued, want %d", q, n)
		}
		return nil
	})
}

// hold starts a write that blocks its commit until release is closed, and
// waits until it runs; it returns the write's outcome.
func hold(t *testing.T, c *Committer, release chan struct{}) chan error {
	t.Helper()
	running, out := make(chan struct{}), make(chan error, 1)
	go func() {
		out <- c.Update(func(tx *bolt.Tx) error {
			close(running)
			<-release
			return put("held")(tx)
		})
	}()
	<-running
	return out
}

func TestLoneWriteCommitsAtOnce(t *testing.T) {
	c := open(t)
	if err := c.Update(put("a")); err != nil {
		t.Fatal(err)
	}
	if !stored(t, c, "a") {
		t.Fatal("a lone write was not stored")
	}
	if c.queued() != 0 || c.running {
		t.Fatal("the committer is not idle after a lone write")
	}
}

// Writes that arrive while a commit is in flight share the next one: they
// run in one transaction, in arrival order, each seeing what the earlier
// ones wrote.
func TestWritesQueuedBehindACommitShareTheNext(t *testing.T) {
	c := open(t)
	release := make(chan struct{})
	held := hold(t, c, release)
	const n = 8
	var (
		mu  sync.Mutex
		ids = map[int]bool{}
		wg  sync.WaitGroup
	)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = c.Update(func(tx *bolt.Tx) error {
				mu.Lock()
				ids[tx.ID()] = true
				mu.Unlock()
				return put(fmt.Sprint(i))(tx)
			})
		})
	}
	waitQueued(t, c, n)
	close(release)
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil || !stored(t, c, fmt.Sprint(i)) {
			t.Fatalf("write %d: %v, stored %t", i, err, stored(t, c, fmt.Sprint(i)))
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d queued writes ran in %d transactions, want 1", n, len(ids))
	}
}

// A failing write of a shared commit gets its own error; the others are
// committed without it.
func TestFailingWriteFailsAlone(t *testing.T) {
	c := open(t)
	release := make(chan struct{})
	held := hold(t, c, release)
	bad := errors.New("bad write")
	var wg sync.WaitGroup
	var okErr, badErr, panicErr error
	wg.Go(func() { okErr = c.Update(put("ok")) })
	wg.Go(func() {
		badErr = c.Update(func(tx *bolt.Tx) error {
			if err := put("bad")(tx); err != nil {
				return err
			}
			return bad
		})
	})
	wg.Go(func() {
		panicErr = c.Update(func(tx *bolt.Tx) error { panic("boom") })
	})
	waitQueued(t, c, 3)
	close(release)
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if okErr != nil || !stored(t, c, "ok") {
		t.Fatalf("the good write: %v, stored %t", okErr, stored(t, c, "ok"))
	}
	if !errors.Is(badErr, bad) || stored(t, c, "bad") {
		t.Fatalf("the failing write: %v, stored %t", badErr, stored(t, c, "bad"))
	}
	if !errors.Is(panicErr, ErrPanicked) {
		t.Fatalf("the panicking write: %v", panicErr)
	}
	if err := c.Update(put("after")); err != nil || !stored(t, c, "after") {
		t.Fatalf("a write after the failures: %v", err)
	}
}
