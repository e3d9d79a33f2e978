package recon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/internal/backoff"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/node/peer"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Send carries one request to the responder over an authenticated peer
// connection and returns its answer (a *peer.Client's Do, or the node's
// outbound connections to a registered institution).
type Send func(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error)

// Request is a reconciliation this node starts.
type Request struct {
	// Responder is the MSP id of the institution Send reaches.
	Responder string
	// List is this node's list.
	List string
	// PeerList names the responder's list.
	PeerList string
	// Protocol is transcript.ProtocolECDHRequesterLearns or
	// transcript.ProtocolECDHBothLearn.
	Protocol transcript.Protocol
	// Period is the accounting period; Sequence is never reused with this
	// responder in a period.
	Period, Sequence uint64
	// ShareLabels asks the responder to exchange the labels of matched
	// rows after the matching (both-learn only; docs/reconciliation.md,
	// "Labels, by consent"). Its grant decides.
	ShareLabels bool
}

// Result is a finished reconciliation, as the requester sees it.
type Result struct {
	ID     string
	Header transcript.ReconHeader
	// Matches is the number of this node's rows in the intersection,
	// written to ResultPath.
	Matches        int
	ResultPath     string
	TranscriptPath string
}

// run is the requester's state for one reconciliation.
type run struct {
	n      *Node
	id     string
	send   Send
	req    Request
	rows   *rows
	recon  *ecdh.Reconciler
	book   *book
	result *resultFile
	keys   [][]byte // the responder's
	t      *tracker
	labels *labels // nil unless a label exchange was agreed
	// state is what node.db holds; log is the set log written since.
	state *saved
	log   bytes.Buffer
	// refused is set once the evidence of a refused answer is kept: the
	// reconciliation is disputed when it ends.
	refused bool
}

// SequenceBase is the first sequence number Start gives a reconciliation:
// 2^48, far above the numbers a requester gives its catalog exchanges, so
// that a reconciliation never shares a ledger entry key with one.
const SequenceBase = 1 << 48

// Start checks req, gives it the first sequence number from SequenceBase
// not yet used with this responder in the period (when req.Sequence is 0),
// and runs Reconcile in the background under ctx; Get, List and Rows follow
// it by the returned id.
func (n *Node) Start(ctx context.Context, send Send, req Request) (*riskmeshv1.Reconciliation, error) {
	if err := n.check(req); err != nil {
		return nil, err
	}
	if req.Sequence == 0 {
		req.Sequence = SequenceBase
		for n.used(ID(n.cfg.MSPID, req.Responder, req.Period, req.Sequence)) {
			req.Sequence++
		}
	}
	t, err := n.newRun(req)
	if err != nil {
		return nil, err
	}
	go func() { _, _ = n.reconcile(ctx, send, req, t) }()
	return t.snapshot(), nil
}

// used reports whether reconciliation id has run or runs on this node.
func (n *Node) used(id string) bool {
	n.mu.Lock()
	_, running := n.runs[id]
	n.mu.Unlock()
	result, _ := paths(n.cfg.Dir, id)
	_, err := os.Stat(result)
	return running || err == nil
}

func (n *Node) check(req Request) error {
	if _, ok := n.cfg.list(req.List); !ok {
		return fmt.Errorf("%w: %q", ErrUnknownList, req.List)
	}
	if !req.Protocol.IsECDH() {
		return fmt.Errorf("%w: %v is not a reconciliation mode", ErrRequest, req.Protocol)
	}
	if req.ShareLabels && req.Protocol != transcript.ProtocolECDHBothLearn {
		return fmt.Errorf("%w: labels are shared in %s only", ErrRequest, ModeBothLearn)
	}
	if !names.MSPID(req.Responder) || req.Responder == n.cfg.MSPID {
		return fmt.Errorf("%w: responder %q", ErrRequest, req.Responder)
	}
	if !names.Category(req.PeerList) || len(req.PeerList) > riskmeshv1.MaxReconList {
		return fmt.Errorf("%w: peer list %q", ErrRequest, req.PeerList)
	}
	return nil
}

func (n *Node) newRun(req Request) (*tracker, error) {
	id := ID(n.cfg.MSPID, req.Responder, req.Period, req.Sequence)
	return n.track(ecdh.RoleRequester, id, req.Responder, req.List, req.Protocol, req.Period, req.Sequence)
}

// Reconcile runs a reconciliation with req.Responder, reached through
// send. Matched rows are written to the result file as they are learned; the
// signed transcript is saved at the end, and also when the reconciliation
// fails after the header was signed (the evidence of a dispute). A chunk
// the responder got wrong fails with ErrPeerChunk at that chunk.
func (n *Node) Reconcile(ctx context.Context, send Send, req Request) (*Result, error) {
	if err := n.check(req); err != nil {
		return nil, err
	}
	t, err := n.newRun(req)
	if err != nil {
		return nil, err
	}
	return n.reconcile(ctx, send, req, t)
}

func (n *Node) reconcile(ctx context.Context, send Send, req Request, t *tracker) (res *Result, err error) {
	id := ID(n.cfg.MSPID, req.Responder, req.Period, req.Sequence)
	r := &run{n: n, send: send, req: req, id: id, t: t}
	defer func() {
		if err = r.end(err); err != nil {
			res = nil
		}
	}()
	list, _ := n.cfg.list(req.List)
	if r.rows, _, err = readRows(ctx, list); err != nil {
		return nil, err
	}
	resultPath, _ := paths(n.cfg.Dir, id)
	if r.result, err = createResult(resultPath); err != nil {
		return nil, err
	}
	r.state = &saved{role: ecdh.RoleRequester, peer: req.Responder, list: req.List, peerList: req.PeerList,
		protocol: req.Protocol, period: req.Period, sequence: req.Sequence, chunkSize: uint32(n.cfg.ChunkSize),
		listDigest: r.rows.digest()}
	if err := r.open(ctx); err != nil {
		return nil, err
	}
	return r.finish(ctx, nil)
}

// finish runs the steps left and returns the result; pending is a step of
// phase 2 a resumed requester sends again first.
func (r *run) finish(ctx context.Context, pending *riskmeshv1.ReconStep) (*Result, error) {
	if err := r.run(ctx, pending); err != nil {
		return nil, err
	}
	resultPath, transcriptPath := paths(r.n.cfg.Dir, r.id)
	return &Result{ID: r.id, Header: r.book.t.Header, Matches: r.result.n, ResultPath: resultPath, TranscriptPath: transcriptPath}, nil
}

// end closes the result file and saves the transcript. A reconciliation
// that ended, done or refused, forgets its saved state; one interrupted
// (the node stopping, the responder out of reach) keeps it for Resume.
// It returns what ended the reconciliation, nil if it is done.
func (r *run) end(cause error) error {
	var err error
	if r.result != nil {
		err = r.result.close()
	}
	resultPath, tp := paths(r.n.cfg.Dir, r.id)
	if err == nil && cause == nil {
		err = r.labels.write(resultPath, r.rows)
	}
	log := r.n.cfg.Logger
	if r.book != nil {
		saved := r.book.save(tp)
		if saved == nil && r.refused && r.n.cfg.Disputed != nil {
			if qerr := r.n.queueDispute(r.id, cause.Error()); qerr != nil {
				log.Warn("reconciliation dispute not queued yet", "id", r.id, "err", qerr)
			}
		}
		err = errors.Join(err, saved)
	}
	if cause == nil && err != nil {
		cause = err
	}
	switch {
	case cause == nil:
		log.Info("reconciliation done", "id", r.id, "role", "requester", "matches", r.result.n)
	case resumable(cause):
		log.Warn("reconciliation interrupted", "id", r.id, "role", "requester", "err", cause)
		r.t.interrupt(cause)
		_ = r.n.store.setStatus(r.t.snapshot())
		return fmt.Errorf("reconcile %s: %w", r.id, cause)
	default:
		log.Warn("reconciliation failed", "id", r.id, "role", "requester", "err", cause)
	}
	r.labels.report(r.t, cause)
	r.t.finish(cause)
	if ferr := r.n.store.forget(r.id, r.t.snapshot(), nil, time.Time{}); ferr != nil {
		log.Warn("reconciliation state not deleted", "id", r.id, "err", ferr)
	}
	if cause != nil {
		return fmt.Errorf("reconcile %s: %w", r.id, cause)
	}
	return nil
}

func (r *run) run(ctx context.Context, pending *riskmeshv1.ReconStep) error {
	h := &r.book.t.Header
	c := int(h.ChunkSize)
	theirs, ours := (int(h.ResponderSize)+c-1)/c, (r.rows.Len()+c-1)/c
	done, _ := r.recon.Progress()
	for s := min(done, theirs); s < theirs; s++ {
		if err := r.phase1(ctx, uint32(s)); err != nil {
			return err
		}
		r.progress()
	}
	for s := max(0, done-theirs); s < ours; s++ {
		if err := r.phase2(ctx, uint32(s), pending); err != nil {
			return err
		}
		pending = nil
		r.progress()
	}
	if !r.recon.Done() {
		return fmt.Errorf("recon: streams ended before the reconciliation did")
	}
	return r.exchangeLabels(ctx)
}

func (r *run) progress() {
	r.t.progress(r.recon, r.result.n)
}

// open asks for the header, checks the responder completed it as asked,
// commits to this side's secret and exchanges the signatures.
func (r *run) open(ctx context.Context) error {
	cfg := &r.n.cfg
	resp, err := r.send(ctx, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_ReconOpen{ReconOpen: &riskmeshv1.ReconOpen{
		List: r.req.PeerList, Protocol: uint32(r.req.Protocol), Period: r.req.Period, Sequence: r.req.Sequence,
		RequesterSize: uint32(r.rows.Len()), ChunkSize: uint32(cfg.ChunkSize), ShareLabels: r.req.ShareLabels}}})
	if err != nil {
		return unreachable(err)
	}
	r.labels = r.t.consent(r.req.ShareLabels, resp.GetReconOpened().GetShareLabels())
	h, err := transcript.ParseReconHeader(resp.GetReconOpened().GetHeader())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHeader, err)
	}
	want := transcript.ReconHeader{Protocol: r.req.Protocol, Suite: transcript.SuiteRistretto255SHA512, Category: h.Category,
		Period: r.req.Period, Requester: cfg.MSPID, Responder: r.req.Responder, Sequence: r.req.Sequence,
		RequesterSize: uint32(r.rows.Len()), ResponderSize: h.ResponderSize, ChunkSize: uint32(cfg.ChunkSize),
		ResponderKey: h.ResponderKey}
	if *h != want {
		return fmt.Errorf("%w: the responder's header does not echo the request", ErrHeader)
	}
	params, err := h.Params()
	if err != nil {
		return err
	}
	if r.recon, err = ecdh.NewReconciler(ecdh.RoleRequester, params, r.rows, cfg.Rand); err != nil {
		return err
	}
	r.recon.SetLog(&r.log)
	if err := r.recon.Start(h.ResponderKey); err != nil {
		return fmt.Errorf("%w: %w", ErrHeader, err)
	}
	h.RequesterKey = r.recon.Commitment()
	if r.book, err = newBook(h); err != nil {
		return err
	}
	sig, err := transcript.SignRequest(cfg.Sign, r.book.digest)
	if err != nil {
		return err
	}
	r.book.t.RequesterSignature = sig
	r.state.header = &r.book.t
	if r.keys, err = cfg.Keys(ctx, h.Responder, h.Period); err != nil {
		return fmt.Errorf("recon: signing keys of %s: %w", h.Responder, err)
	}
	r.t.sizes(h.RequesterSize, h.ResponderSize)
	return r.signHeader(ctx, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_ReconSign{ReconSign: &riskmeshv1.ReconSign{
		Period: h.Period, Sequence: h.Sequence, RequesterKey: h.RequesterKey[:], RequesterSignature: sig}}})
}

// signHeader sends the requester's signature, saved first so that a
// requester resumed before the answer sends it again unchanged, and
// checks the responder's.
func (r *run) signHeader(ctx context.Context, req *riskmeshv1.PeerRequest) error {
	resp, err := r.exchange(ctx, req)
	if err != nil {
		return err
	}
	rsig := resp.GetReconSigned().GetResponderSignature()
	if err := transcript.VerifyResponse(r.keys, r.book.digest, rsig); err != nil {
		return fmt.Errorf("%w: %w", ErrHeader, err)
	}
	r.book.t.ResponderSignature = rsig
	return nil
}

// Retries of a step whose answer did not arrive.
const (
	MaxStepAttempts = 5
	stepBackoff     = 100 * time.Millisecond
	maxStepBackoff  = 2 * time.Second
)

// exchange saves the state with req as the step to send, then sends it.
// A request whose answer is lost with the connection is sent again, byte
// for byte, up to MaxStepAttempts times: the responder answers a repeat
// of its last step with the answer it gave, so the reconciliation
// continues where it was rather than from zero. A refusal by the
// responder is never retried.
func (r *run) exchange(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
	enc, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		return nil, err
	}
	if err := r.persist(enc); err != nil {
		return nil, err
	}
	var resp *riskmeshv1.PeerResponse
	for attempt := 1; ; attempt++ {
		resp, err = r.send(ctx, req)
		var re *peer.RemoteError
		if err == nil || errors.As(err, &re) || ctx.Err() != nil || attempt == MaxStepAttempts {
			break
		}
		r.n.cfg.Logger.Info("reconciliation step resent", "id", r.id, "attempt", attempt+1, "err", err)
		if err := backoff.Sleep(ctx, backoff.Delay(stepBackoff, maxStepBackoff, attempt)); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, unreachable(err)
	}
	return resp, nil
}

// persist saves the state after the steps so far (Node.saveStep), with
// pending the encoded request about to be sent.
func (r *run) persist(pending []byte) error {
	r.state.pending = pending
	return r.n.saveStep(r.id, r.state, r.result, r.recon, &r.log, r.book, r.t)
}

// step sends one ReconStep and returns the responder's chunk, checked and
// recorded (nil when it answers with none).
func (r *run) step(ctx context.Context, m *riskmeshv1.ReconStep) (*ecdh.Chunk, error) {
	m.HeaderDigest = r.book.digest[:]
	resp, err := r.exchange(ctx, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_ReconStep{ReconStep: m}})
	if err != nil {
		return nil, err
	}
	st := resp.GetReconStepped()
	if st == nil {
		return nil, fmt.Errorf("%w: answer is not a step", ErrPeerChunk)
	}
	if len(st.GetChunk()) == 0 {
		return nil, nil
	}
	c := new(ecdh.Chunk)
	if err := c.UnmarshalBinary(st.GetChunk()); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPeerChunk, err)
	}
	if c.Kind != ecdh.KindResponderMasked && c.Kind != ecdh.KindResponderReply {
		return nil, fmt.Errorf("%w: a responder does not send %v chunks", ErrPeerChunk, c.Kind)
	}
	if err := r.book.peer(r.keys, c, st.GetChunk(), st.GetSignature()); err != nil {
		return nil, err
	}
	return c, nil
}

// phase1 pulls responder chunk seq, raises it to this side's secret and,
// in both-learn, returns it with its proof.
func (r *run) phase1(ctx context.Context, seq uint32) error {
	c, err := r.step(ctx, &riskmeshv1.ReconStep{Seq: seq})
	if err != nil {
		return err
	}
	if c == nil || c.Kind != ecdh.KindResponderMasked || c.Seq != seq {
		return fmt.Errorf("%w: pull of chunk %d not answered with it", ErrPeerChunk, seq)
	}
	ans, _, err := r.recon.Answer(c)
	if err != nil {
		return fmt.Errorf("%w: chunk %d: %w", ErrPeerChunk, seq, err)
	}
	if ans == nil {
		return nil
	}
	enc, sig, err := r.own(ans)
	if err != nil {
		return err
	}
	return r.sendReturn(ctx, &riskmeshv1.ReconStep{Chunk: enc, Signature: sig})
}

// sendReturn sends a return of phase 1, which the responder acknowledges
// without a chunk.
func (r *run) sendReturn(ctx context.Context, m *riskmeshv1.ReconStep) error {
	c, err := r.step(ctx, m)
	if err != nil {
		return err
	}
	if c != nil {
		return fmt.Errorf("%w: a return answered with a chunk", ErrPeerChunk)
	}
	return nil
}

// phase2 sends this side's chunk seq and checks the responder's reply
// against its proof; the matched rows go to the result file. A resumed
// requester passes the step it saved (pending), already recorded and
// signed, to send again as it was.
func (r *run) phase2(ctx context.Context, seq uint32, pending *riskmeshv1.ReconStep) error {
	own, err := r.recon.OwnChunk(seq)
	if err != nil {
		return err
	}
	enc := pending.GetChunk()
	m := pending
	if m == nil {
		var sig []byte
		if enc, sig, err = r.own(own); err != nil {
			return err
		}
		m = &riskmeshv1.ReconStep{Chunk: enc, Signature: sig}
	}
	if pending != nil {
		if again, err := own.MarshalBinary(); err != nil || !bytes.Equal(again, enc) {
			return fmt.Errorf("%w: the saved chunk %d is not this list's", errSaved, seq)
		}
	}
	c, err := r.step(ctx, m)
	if err != nil {
		return err
	}
	if c == nil || c.Kind != ecdh.KindResponderReply {
		return fmt.Errorf("%w: chunk %d not answered with a reply", ErrPeerChunk, seq)
	}
	matches, err := r.recon.Accept(c)
	if err != nil {
		return r.rejected(enc, c, fmt.Errorf("%w: reply %d: %w", ErrPeerChunk, seq, err))
	}
	if err := r.labels.collect(r.recon, c); err != nil {
		return err
	}
	return r.result.add(r.rows, matches)
}

// rejected keeps the evidence of an answer that failed its checks after its
// signed record was accepted, for the dispute end queues, and returns cause.
func (r *run) rejected(answered []byte, answer *ecdh.Chunk, cause error) error {
	enc, err := answer.MarshalBinary()
	if err == nil {
		err = saveEvidence(r.n.cfg.Dir, r.id, answered, enc)
	}
	r.refused = err == nil
	return errors.Join(cause, err)
}

// own encodes, signs and records a chunk this side sends.
func (r *run) own(c *ecdh.Chunk) ([]byte, []byte, error) {
	enc, err := c.MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	sig, err := r.book.own(r.n.cfg.Sign, c, enc)
	if err != nil {
		return nil, nil, err
	}
	return enc, sig, nil
}
