package oprf

import (
	"sync"
	"sync/atomic"

	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/internal/workers"
)

// PrecomputeUnblind starts computing, on one goroutine, the unblinding
// terms r_i·G of an additive state, the only part of Finalize that does not
// depend on the answer (about a third of its work). A requester calls it
// once the request is on its way: while the evaluator works, the
// requester's cores would otherwise wait. The goroutine is one of the
// process's idle workers when one is waiting (internal/workers: a node
// calls this once per request, and a new goroutine would grow its stack
// anew each time), else a new one; afterwards it may stay parked as one of
// those idle workers. Finalize stops the goroutine
// after the proof has verified and computes the terms it has not reached;
// a rejected answer leaves the terms for the next one. It does nothing for
// a multiplicative state, whose unblinding needs the answer, or once a
// Finalize succeeded; calling it again does nothing either.
//
// The terms are as secret as the blinds (with the blinded element, r_i·G
// gives HashToGroup(x_i) away): they stay in the state, and Finalize wipes
// them with the blinds. They take as much memory again as the state's
// blinded points (160 bytes an item).
func (st *BlindState) PrecomputeUnblind() {
	if st == nil || st.blinding != BlindAdditive {
		return
	}
	st.ahead.start(st.blinds)
}

// unblinding is the goroutine of PrecomputeUnblind and what it computed:
// terms[:done] are r_i·G for the first done blinds. mu orders start
// against take, so that a Finalize never reads terms that are being
// written and no goroutine starts on blinds a Finalize is wiping.
type unblinding struct {
	mu      sync.Mutex
	started bool
	taken   bool
	stop    atomic.Bool
	stopped chan struct{}
	terms   []edwards25519.Point
	done    int
}

// start runs the computation over blinds unless it ran or was taken.
func (u *unblinding) start(blinds []ristretto255.Scalar) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.started || u.taken {
		return
	}
	u.started = true
	u.terms = make([]edwards25519.Point, len(blinds))
	u.stopped = make(chan struct{})
	workers.Go(func() {
		defer close(u.stopped)
		var s edwards25519.Scalar
		for i := range blinds {
			if u.stop.Load() {
				break
			}
			toEdwardsScalar(&s, &blinds[i])
			u.terms[i].ScalarBaseMult(&s)
			u.done = i + 1
		}
		s = edwards25519.Scalar{}
	})
}

// take stops the computation, waits for its goroutine (at most one term,
// some 15 µs) and returns the terms it finished, in order; nil if none
// started. The caller owns them and wipes them. After take, start does
// nothing.
func (u *unblinding) take() []edwards25519.Point {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.taken = true
	if !u.started {
		return nil
	}
	u.stop.Store(true)
	<-u.stopped
	return u.terms[:u.done]
}
