package workers

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/internal/testwait"
)

// block starts n functions on p that wait until release is closed, and
// returns once all of them run at the same time.
func block(t *testing.T, p *Pool, n int, release <-chan struct{}, done *sync.WaitGroup) {
	t.Helper()
	var running sync.WaitGroup
	running.Add(n)
	done.Add(n)
	for range n {
		p.Go(func() {
			defer done.Done()
			running.Done()
			<-release
		})
	}
	running.Wait()
}

func idleIs(p *Pool, want int) func() error {
	return func() error {
		if got := p.Idle(); got != want {
			return fmt.Errorf("%d idle workers, want %d", got, want)
		}
		return nil
	}
}

func TestGo(t *testing.T) {
	t.Run("every function runs once", func(t *testing.T) {
		p := New(4)
		const n = 1000
		var ran [n]atomic.Int32
		var wg sync.WaitGroup
		wg.Add(n)
		for i := range n {
			p.Go(func() {
				defer wg.Done()
				ran[i].Add(1)
			})
		}
		wg.Wait()
		for i := range ran {
			if c := ran[i].Load(); c != 1 {
				t.Fatalf("function %d ran %d times", i, c)
			}
		}
	})

	t.Run("never waits for a worker", func(t *testing.T) {
		// Twice as many functions as idle workers run together: block
		// returns only once all of them are running.
		p := New(2)
		release := make(chan struct{})
		var done sync.WaitGroup
		block(t, p, 4, release, &done)
		close(release)
		done.Wait()
	})

	t.Run("keeps at most maxIdle workers", func(t *testing.T) {
		p := New(3)
		release := make(chan struct{})
		var done sync.WaitGroup
		block(t, p, 10, release, &done)
		if got := p.Idle(); got != 0 {
			t.Fatalf("%d idle workers while all run", got)
		}
		close(release)
		done.Wait()
		testwait.Until(t, "the surplus workers end", 10*time.Second, idleIs(p, 3))
	})

	t.Run("reuses an idle worker", func(t *testing.T) {
		p := New(1)
		ran := func() uint64 {
			ids := make(chan uint64, 1)
			p.Go(func() { ids <- goroutineID() })
			return <-ids
		}
		// Idle counts a worker a moment before it waits on the channel, so
		// a function handed over in between starts a goroutine of its own,
		// and of the two only one is kept: ask until a function runs on
		// the goroutine of the one before it.
		last := ran()
		testwait.Until(t, "a function runs on the goroutine of the one before", 10*time.Second, func() error {
			id := ran()
			defer func() { last = id }()
			if id != last {
				return fmt.Errorf("ran on goroutine %d, the one before on %d", id, last)
			}
			return nil
		})
	})

	t.Run("an idle worker holds nothing of its last function", func(t *testing.T) {
		p := New(1)
		collected := make(chan struct{})
		var done sync.WaitGroup
		done.Add(1)
		func() {
			buf := make([]byte, 1<<20)
			runtime.AddCleanup(&buf[0], func(struct{}) { close(collected) }, struct{}{})
			p.Go(func() {
				defer done.Done()
				buf[0] = 1
			})
		}()
		done.Wait()
		testwait.Until(t, "the worker waits again", 10*time.Second, idleIs(p, 1))
		testwait.Until(t, "the function's buffer is collected", 10*time.Second, func() error {
			runtime.GC()
			select {
			case <-collected:
				return nil
			default:
				return fmt.Errorf("buffer still reachable")
			}
		})
	})
}

// goroutineID reads the running goroutine's id from its stack header, for
// the reuse test only.
func goroutineID() uint64 {
	var buf [64]byte
	s := buf[:runtime.Stack(buf[:], false)] // "goroutine 123 [running]:..."
	var id uint64
	fmt.Sscanf(string(s), "goroutine %d ", &id)
	return id
}
