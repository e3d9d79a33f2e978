package catalog

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/riskmesh/riskmesh/psi/catalog/internal/uring"
)

// ringEntries is the most slot reads one system call submits for a
// catalog read from its file: 1,024 reads, so 256 look-ups of arity 4 or
// 341 of arity 3, a 20 KiB buffer and about 100 KiB of rings (the kernel's
// per-read work, not the call, then dominates: docs/benchmarks.md,
// "Batched slot reads beyond the budget").
const ringEntries = 1024

// rings lends io_uring instances (internal/uring) to the look-ups of
// catalogs read from their files, one batch at a time each. There are at
// most two per core, made as look-ups need them and kept for the process's
// life; where io_uring is unavailable there are none and look-ups read
// each slot with pread.
var rings ringPool

type ringPool struct {
	init sync.Once
	free chan *uring.Ring // the rings not lent
	made atomic.Int64     // rings made and not discarded
	// off is set once io_uring turns out to be unavailable, or by tests
	// of the pread path.
	off atomic.Bool
}

// get lends a ring, waiting for one if all are lent, or returns nil where
// io_uring is unavailable: the caller then preads.
func (p *ringPool) get() *uring.Ring {
	p.init.Do(func() { p.free = make(chan *uring.Ring, maxRings()) })
	if p.off.Load() {
		return nil
	}
	select {
	case r := <-p.free:
		return r
	default:
	}
	if p.made.Add(1) > int64(cap(p.free)) {
		p.made.Add(-1)
		return <-p.free
	}
	r, err := uring.New(ringEntries, ValueSize)
	if err != nil {
		p.made.Add(-1)
		if errors.Is(err, uring.ErrUnsupported) {
			p.off.Store(true)
		}
		return nil // out of descriptors or memory for now: pread
	}
	return r
}

// put returns a ring after a batch whose ReadAt returned err. A broken ring
// is discarded; a failed read leaves the ring as good as before, unless
// the kernel refused the read itself (a kernel older than Linux 5.6 has
// io_uring without its read operation): then io_uring is off for the
// process, rather than every batch failing and being read again.
func (p *ringPool) put(r *uring.Ring, err error) {
	var re *uring.ReadError
	if errors.As(err, &re) && (errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EOPNOTSUPP)) {
		p.off.Store(true)
	}
	if errors.Is(err, uring.ErrBroken) {
		p.made.Add(-1)
		r.Close() // keeps the buffer the kernel may still write to; nothing else to report
		return
	}
	p.free <- r // never blocks: at most cap(p.free) rings exist
}

// maxRings is two rings per core: look-ups split over the cores
// (catalogpsi) each hold one, and a second lets a look-up on one catalog
// overlap another's without waiting.
func maxRings() int { return 2 * runtime.GOMAXPROCS(0) }
