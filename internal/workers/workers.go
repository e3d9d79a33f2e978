// Package workers runs short-lived per-request functions on goroutines that
// have run such functions before.
//
// A new goroutine starts on a small stack and, on the node's request paths
// (a peer stream's read, signature check, evaluation and commit; a
// requester's query, its part per provider, its exchanges, their
// unblinding and answer checks; a group commit's next commit and fold),
// grows it by copying two or three times before it returns: in the
// daemon's profiles that growth cost the requester about 0.15 ms and each
// provider about 0.08 ms of CPU per small query
// (docs/benchmarks.md, "The node's own CPU per small query"). A worker that
// has finished a function waits for the next one on the stack it already
// grew. The garbage collector still shrinks an idle worker's stack, so what
// is kept between collections is bounded by the number of idle workers.
//
// Go never queues: a function starts at once, on an idle worker when one
// is waiting and on a new goroutine otherwise, exactly as a go statement
// would. It does not carry the caller's pprof labels over, and a panic in
// the function ends the process as it would on its own goroutine.
//
// The field's pools (panjf2000/ants, for one) bound the number of
// goroutines and queue or refuse work beyond it, and keep idle workers
// under an expiry sweeper of their own. Neither fits here: a request must
// never wait behind another for a worker (the peer's and the API's own
// limits bound the work), and an idle worker needs no sweeping, because
// its cost is a stack the garbage collector shrinks. What is left is a
// channel and a counter, smaller than adapting a pool to behave so.
package workers

import "sync/atomic"

// DefaultIdle is how many workers the process keeps waiting for work. A
// three-provider query on the requester runs about thirteen functions
// here (docs/benchmarks.md, "Goroutine starts on the requester's query
// path"), not all at once, so sixteen cover one with room to spare; an
// idle worker costs only its stack, which the garbage collector shrinks.
// Sixteen concurrent queries need more than that, and start the rest.
const DefaultIdle = 16

// Pool hands functions to idle workers. The zero value is not usable;
// make one with New.
type Pool struct {
	work    chan func()
	idle    atomic.Int32
	maxIdle int32
}

// New returns a pool that keeps at most maxIdle workers waiting (at least
// one).
func New(maxIdle int) *Pool {
	return &Pool{work: make(chan func()), maxIdle: int32(max(maxIdle, 1))}
}

// shared is the process's pool: stacks belong to the process, so one pool
// serves every package that hands it work.
var shared = New(DefaultIdle)

// Go runs f on one of the process's idle workers, or on a new goroutine
// when none is waiting. Use it where a go statement starts a function
// that returns once its request is done; a function that lives as long as
// a connection or a server keeps its worker from the others.
func Go(f func()) { shared.Go(f) }

// Go runs f on an idle worker of p, or on a new goroutine when none is
// waiting; it never waits for one.
func (p *Pool) Go(f func()) {
	select {
	case p.work <- f:
	default:
		go p.run(f)
	}
}

// Idle is the number of workers waiting for work.
func (p *Pool) Idle() int { return int(p.idle.Load()) }

// run runs f, then waits for further work unless maxIdle workers already
// wait. It holds no reference to a finished function while it waits.
func (p *Pool) run(f func()) {
	for f != nil {
		f()
		f = nil
		if p.idle.Add(1) > p.maxIdle {
			p.idle.Add(-1)
			return
		}
		f = <-p.work
		p.idle.Add(-1)
	}
}
