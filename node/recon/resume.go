package recon

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// errUnreachable marks a step whose answer never arrived: the responder
// out of reach, not a refusal. The reconciliation can be resumed.
var errUnreachable = errors.New("recon: responder unreachable")

func unreachable(err error) error {
	var re *peer.RemoteError
	if errors.As(err, &re) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", errUnreachable, err)
}

// resumable reports whether a reconciliation that stopped on err may be
// resumed: the node stopping, the responder out of reach or busy (its
// node restarting). Anything else, a refused or wrong chunk above all,
// ends it for good.
func resumable(err error) bool {
	var re *peer.RemoteError
	if errors.As(err, &re) {
		return re.Code == codeUnavailable
	}
	return errors.Is(err, errUnreachable) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// Resume continues reconciliation id, which this node started and which
// was interrupted (the node stopped or crashed, or the responder was out
// of reach), from its last saved state rather than from zero, through
// send. The step whose answer was lost is sent again byte for byte; the
// chunks before it are not handled again, and the result file is cut
// back to the rows the state counts, so every row is written once.
func (n *Node) Resume(ctx context.Context, id string, send Send) (*Result, error) {
	l, err := n.loadResume(id)
	if err != nil {
		return nil, err
	}
	r, err := n.resumeRun(id, l, send)
	if err != nil {
		return nil, err
	}
	return r.resume(ctx, l)
}

// ResumeStart resumes reconciliation id as Resume does, in the background
// under ctx, through the way dial gives to its responder, and returns its
// state, running. It is how an interrupted reconciliation of a running
// node is resumed (riskmesh reconcile resume); one still running is
// ErrRunning, one that ended or never ran ErrUnknown.
func (n *Node) ResumeStart(ctx context.Context, id string, dial func(responder string) (Send, error)) (*riskmeshv1.Reconciliation, error) {
	l, err := n.loadResume(id)
	if err != nil {
		return nil, err
	}
	send, err := dial(l.peer)
	if err != nil {
		return nil, err
	}
	r, err := n.resumeRun(id, l, send)
	if err != nil {
		return nil, err
	}
	go func() { _, _ = r.resume(ctx, l) }()
	return r.t.snapshot(), nil
}

// loadResume loads the saved state of a reconciliation this node started.
func (n *Node) loadResume(id string) (*loaded, error) {
	l, err := n.store.load(id)
	if err != nil {
		return nil, err
	}
	if l == nil || l.role != ecdh.RoleRequester {
		return nil, fmt.Errorf("%w: nothing to resume under %q", ErrUnknown, id)
	}
	return l, nil
}

// resumeRun registers the resumed reconciliation as running (ErrRunning if
// it already is) and returns its run.
func (n *Node) resumeRun(id string, l *loaded, send Send) (*run, error) {
	req := Request{Responder: l.peer, List: l.list, PeerList: l.peerList, Protocol: l.protocol, Period: l.period, Sequence: l.sequence}
	before, err := n.store.status(id)
	if err != nil {
		return nil, err
	}
	t, err := n.track(ecdh.RoleRequester, id, req.Responder, req.List, req.Protocol, req.Period, req.Sequence)
	if err != nil {
		return nil, err
	}
	if before.GetLabels() == LabelsAgreed {
		// The keys of the matches before the stop are not saved: the
		// labels cannot be exchanged any more.
		t.setLabels(LabelsLost)
	}
	return &run{n: n, send: send, req: req, id: id, t: t, state: l.saved}, nil
}

// resume rebuilds the run from l and runs it to its end.
func (r *run) resume(ctx context.Context, l *loaded) (res *Result, err error) {
	defer func() {
		if err = r.end(err); err != nil {
			res = nil
		}
	}()
	if err := r.restore(ctx, l); err != nil {
		return nil, err
	}
	pending, err := r.resend(ctx)
	if err != nil {
		return nil, err
	}
	return r.finish(ctx, pending)
}

// ResumeAll resumes, in the background, every reconciliation this node
// started and did not finish; dial gives the way to each responder. The
// node calls it when it starts.
func (n *Node) ResumeAll(ctx context.Context, dial func(responder string) (Send, error)) error {
	ids, err := n.store.inProgress(ecdh.RoleRequester)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := n.ResumeStart(ctx, id, dial); err != nil {
			n.cfg.Logger.Warn("reconciliation not resumed", "id", id, "err", err)
		}
	}
	return nil
}

// restore rebuilds the requester's state from l: the list (it must be
// the one masked before), the library's Reconciler, the transcript so far
// and the result file.
func (r *run) restore(ctx context.Context, l *loaded) error {
	cfg := &r.n.cfg
	if l.header == nil {
		return fmt.Errorf("%w: interrupted before its header was signed; start it again", ErrUnknown)
	}
	h := &l.header.Header
	rs, recon, err := r.n.reopen(ctx, l)
	if err != nil {
		return err
	}
	r.rows, r.recon = rs, recon
	r.recon.SetLog(&r.log)
	if r.book, err = restoreBook(l); err != nil {
		return err
	}
	r.state.header = &r.book.t
	if r.keys, err = cfg.Keys(ctx, h.Responder, h.Period); err != nil {
		return fmt.Errorf("recon: signing keys of %s: %w", h.Responder, err)
	}
	resultPath, _ := paths(cfg.Dir, r.id)
	if r.result, err = reopenResult(resultPath, l.resultSize, l.resultRows); err != nil {
		return err
	}
	r.t.sizes(h.RequesterSize, h.ResponderSize)
	r.progress()
	return nil
}

// reopen reads a saved reconciliation's list again, checks it is the
// list masked before, and resumes the library's Reconciler over it.
func (n *Node) reopen(ctx context.Context, l *loaded) (*rows, *ecdh.Reconciler, error) {
	list, ok := n.cfg.list(l.list)
	if !ok {
		return nil, nil, fmt.Errorf("%w: %q", ErrUnknownList, l.list)
	}
	rs, _, err := readRows(ctx, list)
	if err != nil {
		return nil, nil, err
	}
	if rs.digest() != l.listDigest {
		return nil, nil, fmt.Errorf("%w: list %q changed since the reconciliation started", ErrListChanged, l.list)
	}
	recon, err := ecdh.Resume(l.checkpoint, rs, l.log, n.cfg.Rand)
	if err != nil {
		return nil, nil, err
	}
	return rs, recon, nil
}

// restoreBook rebuilds the transcript kept so far.
func restoreBook(l *loaded) (*book, error) {
	b, err := newBook(&l.header.Header)
	if err != nil {
		return nil, err
	}
	b.t.RequesterSignature, b.t.ResponderSignature = l.header.RequesterSignature, l.header.ResponderSignature
	if err := b.restore(l.records); err != nil {
		return nil, err
	}
	return b, nil
}

// resend sends again the step a resumed requester saved before its
// crash. A step of phase 2 is returned for phase2 to send (it must
// first take its own chunk back); a pull is sent again by the loop.
func (r *run) resend(ctx context.Context) (*riskmeshv1.ReconStep, error) {
	if r.state.pending == nil {
		return nil, nil
	}
	req := new(riskmeshv1.PeerRequest)
	if err := proto.Unmarshal(r.state.pending, req); err != nil {
		return nil, fmt.Errorf("%w: pending step: %w", errSaved, err)
	}
	switch b := req.GetBody().(type) {
	case *riskmeshv1.PeerRequest_ReconSign:
		return nil, r.signHeader(ctx, req)
	case *riskmeshv1.PeerRequest_ReconStep:
		if len(b.ReconStep.GetChunk()) == 0 {
			return nil, nil
		}
		c := new(ecdh.Chunk)
		if err := c.UnmarshalBinary(b.ReconStep.GetChunk()); err != nil {
			return nil, fmt.Errorf("%w: pending step: %w", errSaved, err)
		}
		if c.Kind == ecdh.KindRequesterReturn {
			return nil, r.sendReturn(ctx, b.ReconStep)
		}
		return b.ReconStep, nil
	}
	return nil, fmt.Errorf("%w: pending step of an unknown kind", errSaved)
}

// finalAnswer returns the answer a responder gave to the last step of a
// reconciliation it answered to its end, if m is that step, byte for
// byte, from the same requester, within IdleTimeout of the end: a
// requester that lost that answer, with a restart of this node in
// between, gets it again rather than NOT_FOUND. It returns nil otherwise,
// and the caller refuses the step as it would without it.
func (n *Node) finalAnswer(requester string, d [transcript.DigestSize]byte, m *riskmeshv1.ReconStep) *riskmeshv1.PeerResponse {
	f, err := n.store.final(d)
	if err != nil || f == nil || f.requester != requester || n.cfg.Now().Sub(f.at) >= n.cfg.IdleTimeout {
		return nil
	}
	digest, err := stepDigest(m)
	if err != nil || digest != f.digest {
		return nil
	}
	resp := new(riskmeshv1.PeerResponse)
	if err := proto.Unmarshal(f.answer, resp); err != nil {
		n.cfg.Logger.Warn("final reconciliation answer unreadable", "err", err)
		return nil
	}
	return resp
}
