package recon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// session is a reconciliation this node answers. Its steps run one at a
// time (mu): a Reconciler is not safe for concurrent use.
type session struct {
	mu      sync.Mutex
	seen    time.Time // the requester's last request
	key     sessionKey
	header  transcript.ReconHeader
	rows    *rows
	recon   *ecdh.Reconciler
	book    *book // nil until the header is signed
	result  *resultFile
	id      string
	ended   bool
	reqKeys [][]byte
	// awaiting holds the masked chunks sent and not yet returned (at most
	// ecdh.MaxWindow), the evidence if a return fails its proof.
	awaiting map[uint32][]byte
	t        *tracker
	labels   *labels // nil unless a label exchange was agreed
	// matched is set once the last answer of the matching left: the
	// reconciliation is billed whatever becomes of a label exchange after.
	matched bool
	// last is the latest step and its answer, so that a requester whose
	// connection dropped before the answer arrived can send the step again
	// and get the same answer, without the chunk being handled twice.
	last struct {
		digest [sha256.Size]byte
		resp   *riskmeshv1.PeerResponse
	}
	// state is what node.db holds once the header is signed; log is the
	// set log written since.
	state *saved
	log   bytes.Buffer
}

func (n *Node) open(ctx context.Context, requester string, m *riskmeshv1.ReconOpen) *riskmeshv1.PeerResponse {
	p := transcript.Protocol(min(m.GetProtocol(), 255))
	switch {
	case !names.Category(m.GetList()) || len(m.GetList()) > riskmeshv1.MaxReconList:
		return refusal(fmt.Errorf("%w: list name", errMalformed))
	case !p.IsECDH() || m.GetProtocol() > 255:
		return refusal(fmt.Errorf("%w: protocol %d is not a reconciliation", errMalformed, m.GetProtocol()))
	case m.GetRequesterSize() < 1 || m.GetRequesterSize() > ecdh.MaxReconItems:
		return refusal(fmt.Errorf("%w: requester size %d", errMalformed, m.GetRequesterSize()))
	case m.GetChunkSize() < 1 || m.GetChunkSize() > riskmeshv1.MaxReconChunk:
		return refusal(fmt.Errorf("%w: chunk size %d, want 1 to %d", errMalformed, m.GetChunkSize(), riskmeshv1.MaxReconChunk))
	}
	// Consent first: nothing is read, drawn or stored for a reconciliation
	// the policy does not admit.
	if err := n.cfg.admit(requester, m.GetList(), p); err != nil {
		return refusal(err)
	}
	list, ok := n.cfg.list(m.GetList())
	if !ok {
		return refusal(fmt.Errorf("%w: %q", ErrUnknownList, m.GetList()))
	}
	if n.cfg.Priced != nil {
		if err := n.cfg.Priced(ctx, m.GetPeriod(), list.Category); err != nil {
			return refusal(err)
		}
	}
	key := sessionKey{requester: requester, period: m.GetPeriod(), sequence: m.GetSequence()}
	s := &session{key: key, id: ID(requester, n.cfg.MSPID, key.period, key.sequence), awaiting: make(map[uint32][]byte)}
	if err := n.reserve(ctx, s); err != nil {
		return refusal(err)
	}
	resp, err := n.prepare(ctx, s, list, p, m)
	if err == nil {
		agreed := p == transcript.ProtocolECDHBothLearn && n.cfg.sharesLabels(requester, list.Name, p)
		s.labels = s.t.consent(m.GetShareLabels(), agreed)
		resp.GetReconOpened().ShareLabels = s.labels != nil
	}
	if err != nil {
		n.release(s)
		if s.result != nil {
			_ = s.result.close()
		}
		return refusal(err)
	}
	return resp
}

// reserve admits s if the node has room and its (period, sequence) was
// never used with this requester: its result file is created exclusively,
// so a sequence stays used across restarts. Sessions idle past
// IdleTimeout are ended first, so that a requester that opens and goes
// away cannot hold the slots.
func (n *Node) reserve(ctx context.Context, s *session) error {
	n.endIdle(ctx)
	s.seen = n.cfg.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, dup := n.opened[s.key]; dup {
		return fmt.Errorf("%w: %s", ErrSequence, s.id)
	}
	if len(n.opened) >= n.cfg.MaxSessions {
		return ErrBusy
	}
	resultPath, _ := paths(n.cfg.Dir, s.id)
	f, err := createResult(resultPath)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%w: %s", ErrSequence, s.id)
	}
	if err != nil {
		return err
	}
	s.result = f
	n.opened[s.key] = s
	return nil
}

// endIdle ends the sessions whose requester has been silent for
// IdleTimeout.
func (n *Node) endIdle(ctx context.Context) {
	n.mu.Lock()
	sessions := make([]*session, 0, len(n.opened))
	for _, s := range n.opened {
		sessions = append(sessions, s)
	}
	n.mu.Unlock()
	now := n.cfg.Now()
	for _, s := range sessions {
		// A session busy in a step holds its lock: it is not idle.
		if !s.mu.TryLock() {
			continue
		}
		if !s.ended && now.Sub(s.seen) >= n.cfg.IdleTimeout {
			_ = n.end(ctx, s, fmt.Errorf("%w: the requester was idle for %v", ErrSession, n.cfg.IdleTimeout))
		}
		s.mu.Unlock()
	}
}

// release forgets s (its result file stays, keeping the sequence used).
// A signed session stays reachable by its header digest among the last
// MaxSessions ended ones, so that its last step can still be sent again.
func (n *Node) release(s *session) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.opened, s.key)
	if s.book == nil {
		return
	}
	n.ended = append(n.ended, s.book.digest)
	if len(n.ended) > n.cfg.MaxSessions {
		delete(n.byDigest, n.ended[0])
		n.ended = n.ended[1:]
	}
}

// prepare reads the list, draws the responder's secret and completes the
// header.
func (n *Node) prepare(ctx context.Context, s *session, list List, p transcript.Protocol, m *riskmeshv1.ReconOpen) (*riskmeshv1.PeerResponse, error) {
	rs, _, err := readRows(ctx, list)
	if err != nil {
		return nil, err
	}
	s.rows = rs
	s.header = transcript.ReconHeader{Protocol: p, Suite: transcript.SuiteRistretto255SHA512, Category: list.Category,
		Period: m.GetPeriod(), Requester: s.key.requester, Responder: n.cfg.MSPID, Sequence: m.GetSequence(),
		RequesterSize: m.GetRequesterSize(), ResponderSize: uint32(rs.Len()), ChunkSize: m.GetChunkSize()}
	params, err := s.header.Params()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if s.recon, err = ecdh.NewReconciler(ecdh.RoleResponder, params, rs, n.cfg.Rand); err != nil {
		return nil, err
	}
	s.recon.SetLog(&s.log)
	s.header.ResponderKey = s.recon.Commitment()
	s.state = &saved{role: ecdh.RoleResponder, peer: s.key.requester, list: list.Name, protocol: p,
		period: s.key.period, sequence: s.key.sequence, chunkSize: m.GetChunkSize(), listDigest: rs.digest()}
	if s.t, err = n.track(ecdh.RoleResponder, s.id, s.key.requester, list.Name, p, s.key.period, s.key.sequence); err != nil {
		return nil, err
	}
	s.t.sizes(s.header.ResponderSize, s.header.RequesterSize)
	enc, err := s.header.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_ReconOpened{ReconOpened: &riskmeshv1.ReconOpened{Header: enc}}}, nil
}

func (n *Node) sign(ctx context.Context, requester string, m *riskmeshv1.ReconSign) *riskmeshv1.PeerResponse {
	n.mu.Lock()
	s := n.opened[sessionKey{requester: requester, period: m.GetPeriod(), sequence: m.GetSequence()}]
	n.mu.Unlock()
	if s == nil {
		var err error
		if s, err = n.revive(ctx, requester, ID(requester, n.cfg.MSPID, m.GetPeriod(), m.GetSequence())); err != nil {
			return refusal(err)
		}
	}
	if s == nil {
		return refusal(fmt.Errorf("%w: nothing opened under period %d, sequence %d", ErrSession, m.GetPeriod(), m.GetSequence()))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = n.cfg.Now()
	resp, err := n.signLocked(ctx, s, m)
	if err != nil {
		n.end(ctx, s, err)
		return refusal(err)
	}
	return resp
}

func (n *Node) signLocked(ctx context.Context, s *session, m *riskmeshv1.ReconSign) (*riskmeshv1.PeerResponse, error) {
	switch {
	case s.ended:
		return nil, fmt.Errorf("%w: %s has ended", ErrSession, s.id)
	case s.book != nil && bytes.Equal(m.GetRequesterKey(), s.header.RequesterKey[:]) &&
		bytes.Equal(m.GetRequesterSignature(), s.book.t.RequesterSignature):
		// The requester resumed before it got the answer: the same answer.
		return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_ReconSigned{ReconSigned: &riskmeshv1.ReconSigned{ResponderSignature: s.book.t.ResponderSignature}}}, nil
	case s.book != nil:
		return nil, fmt.Errorf("%w: %s is already signed", errMalformed, s.id)
	case len(m.GetRequesterKey()) != ecdh.PointSize:
		return nil, fmt.Errorf("%w: requester key of %d bytes", errMalformed, len(m.GetRequesterKey()))
	}
	copy(s.header.RequesterKey[:], m.GetRequesterKey())
	b, err := newBook(&s.header)
	if err != nil {
		return nil, err
	}
	keys, err := n.cfg.Keys(ctx, s.key.requester, s.key.period)
	if err != nil {
		return nil, fmt.Errorf("recon: signing keys of %s: %w", s.key.requester, err)
	}
	if err := transcript.VerifyRequest(keys, b.digest, m.GetRequesterSignature()); err != nil {
		return nil, err
	}
	if err := s.recon.Start(s.header.RequesterKey); err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	sig, err := transcript.SignResponse(n.cfg.Sign, b.digest)
	if err != nil {
		return nil, err
	}
	b.t.RequesterSignature, b.t.ResponderSignature = m.GetRequesterSignature(), sig
	s.book, s.reqKeys = b, keys
	s.state.header = &b.t
	if err := n.persist(s); err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.byDigest[b.digest] = s
	n.mu.Unlock()
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_ReconSigned{ReconSigned: &riskmeshv1.ReconSigned{ResponderSignature: sig}}}, nil
}

func (n *Node) step(ctx context.Context, requester string, m *riskmeshv1.ReconStep) *riskmeshv1.PeerResponse {
	var d [transcript.DigestSize]byte
	if len(m.GetHeaderDigest()) != len(d) {
		return refusal(fmt.Errorf("%w: header digest of %d bytes", errMalformed, len(m.GetHeaderDigest())))
	}
	copy(d[:], m.GetHeaderDigest())
	n.mu.Lock()
	s := n.byDigest[d]
	n.mu.Unlock()
	if s == nil {
		id, err := n.store.byDigest(d)
		if err != nil {
			return refusal(err)
		}
		if id != "" {
			if s, err = n.revive(ctx, requester, id); err != nil {
				return refusal(err)
			}
		}
	}
	if s == nil {
		if resp := n.finalAnswer(requester, d, m); resp != nil {
			return resp
		}
	}
	if s == nil || s.key.requester != requester {
		return refusal(fmt.Errorf("%w: no signed reconciliation under that header", ErrSession))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = n.cfg.Now()
	digest, err := stepDigest(m)
	if err != nil {
		return refusal(err)
	}
	if s.last.resp != nil && digest == s.last.digest {
		return s.last.resp // a resend after a dropped connection
	}
	if s.ended {
		return refusal(fmt.Errorf("%w: %s has ended", ErrSession, s.id))
	}
	resp, err := n.stepLocked(s, m)
	if err != nil {
		n.end(ctx, s, err)
		return refusal(err)
	}
	s.t.progress(s.recon, s.result.n)
	s.last.digest, s.last.resp = digest, resp
	if err := n.persist(s); err != nil {
		n.end(ctx, s, err)
		return refusal(err)
	}
	if s.recon.Done() {
		s.matched = true
		if !s.labels.pending() {
			if err := n.end(ctx, s, nil); err != nil {
				return refusal(err)
			}
		}
	}
	return resp
}

// stepDigest identifies a step by its canonical encoding.
func stepDigest(m *riskmeshv1.ReconStep) ([sha256.Size]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return [sha256.Size]byte{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	return sha256.Sum256(b), nil
}

func (n *Node) stepLocked(s *session, m *riskmeshv1.ReconStep) (*riskmeshv1.PeerResponse, error) {
	if len(m.GetLabels()) > 0 {
		return n.labelStep(s, m)
	}
	if len(m.GetChunk()) == 0 {
		c, err := s.recon.OwnChunk(m.GetSeq())
		if err != nil {
			return nil, fmt.Errorf("%w: pull of chunk %d: %w", errMalformed, m.GetSeq(), err)
		}
		resp, err := n.send(s, c)
		if err == nil && s.header.Protocol == transcript.ProtocolECDHBothLearn {
			s.awaiting[c.Seq] = resp.GetReconStepped().GetChunk()
		}
		return resp, err
	}
	c := new(ecdh.Chunk)
	if err := c.UnmarshalBinary(m.GetChunk()); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPeerChunk, err)
	}
	if c.Kind != ecdh.KindRequesterReturn && c.Kind != ecdh.KindRequesterMasked {
		return nil, fmt.Errorf("%w: a requester does not send %v chunks", ErrPeerChunk, c.Kind)
	}
	if err := s.book.peer(s.reqKeys, c, m.GetChunk(), m.GetSignature()); err != nil {
		return nil, err
	}
	if c.Kind == ecdh.KindRequesterReturn {
		if _, err := s.recon.Accept(c); err != nil {
			cause := fmt.Errorf("%w: return %d: %w", ErrPeerChunk, c.Seq, err)
			return nil, errors.Join(cause, saveEvidence(n.cfg.Dir, s.id, s.awaiting[c.Seq], m.GetChunk()))
		}
		delete(s.awaiting, c.Seq)
		return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_ReconStepped{ReconStepped: &riskmeshv1.ReconStepped{}}}, nil
	}
	ans, matches, err := s.recon.Answer(c)
	if err != nil {
		return nil, fmt.Errorf("%w: chunk %d: %w", ErrPeerChunk, c.Seq, err)
	}
	if err := s.labels.collect(s.recon, ans); err != nil {
		return nil, err
	}
	if err := s.result.add(s.rows, matches); err != nil {
		return nil, err
	}
	return n.send(s, ans)
}

// send records and signs one of the responder's chunks and returns it.
func (n *Node) send(s *session, c *ecdh.Chunk) (*riskmeshv1.PeerResponse, error) {
	enc, err := c.MarshalBinary()
	if err != nil {
		return nil, err
	}
	sig, err := s.book.own(n.cfg.Sign, c, enc)
	if err != nil {
		return nil, err
	}
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_ReconStepped{ReconStepped: &riskmeshv1.ReconStepped{Chunk: enc, Signature: sig}}}, nil
}

// end closes s, after its last step (cause nil) or a failure: the result
// file is closed, the transcript saved as evidence, and a finished
// reconciliation billed. It returns what failed while ending.
func (n *Node) end(ctx context.Context, s *session, cause error) (err error) {
	s.ended = true
	defer n.forget(s)
	defer func() { s.rows, s.recon, s.awaiting = nil, nil, nil }() // only the last answer is kept
	if s.t != nil {
		defer func() { s.t.finish(errors.Join(cause, err)) }()
	}
	n.release(s)
	s.labels.report(s.t, cause)
	err = s.result.close()
	if err == nil && cause == nil {
		resultPath, _ := paths(n.cfg.Dir, s.id)
		err = s.labels.write(resultPath, s.rows)
	}
	if s.book != nil {
		_, tp := paths(n.cfg.Dir, s.id)
		err = errors.Join(err, s.book.save(tp))
	}
	if cause != nil {
		n.cfg.Logger.Warn("reconciliation ended", "id", s.id, "role", "responder", "err", cause)
		if !s.matched {
			return err
		}
	}
	if err == nil {
		err = n.bill(ctx, s.id, &s.book.t)
	}
	n.cfg.Logger.Info("reconciliation done", "id", s.id, "role", "responder", "matches", s.result.n, "err", err)
	return err
}

// persist saves s after its latest step (Node.saveStep), with the answer,
// before the answer leaves: a responder restarted after it answers a step
// gives the same answer to its resend, and refuses any other version of
// it.
func (n *Node) persist(s *session) error {
	st := s.state
	st.last = nil
	if s.last.resp != nil {
		var err error
		if st.last, err = (proto.MarshalOptions{Deterministic: true}).Marshal(s.last.resp); err != nil {
			return err
		}
		st.lastDigest = s.last.digest
	}
	return n.saveStep(s.id, st, s.result, s.recon, &s.log, s.book, s.t)
}

// forget deletes an ended session's saved state; its status stays, and
// so does the last answer of one done, for a requester that lost it.
func (n *Node) forget(s *session) {
	var (
		st  *riskmeshv1.Reconciliation
		fin *final
	)
	if s.t != nil {
		st = s.t.snapshot()
	}
	now := n.cfg.Now()
	if st.GetState() == StateDone && s.book != nil && s.state != nil && len(s.state.last) > 0 {
		fin = &final{header: s.book.digest, at: now, requester: s.key.requester, digest: s.state.lastDigest, answer: s.state.last}
	}
	if err := n.store.forget(s.id, st, fin, now.Add(-n.cfg.IdleTimeout)); err != nil {
		n.cfg.Logger.Warn("reconciliation state not deleted", "id", s.id, "err", err)
	}
}

// revive resumes, after a restart, a session this node answered and saved
// (nil if there is none for this requester): its list, which must be the
// one masked before, its Reconciler, transcript, result file and last
// answer. The masked chunks sent and not yet returned are taken again, so
// that their returns can be checked.
func (n *Node) revive(ctx context.Context, requester, id string) (*session, error) {
	l, err := n.store.load(id)
	if err != nil {
		return nil, err
	}
	if l == nil || l.role != ecdh.RoleResponder || l.header == nil || l.peer != requester {
		return nil, nil
	}
	h := l.header.Header
	s := &session{key: sessionKey{requester: requester, period: l.period, sequence: l.sequence}, id: id, header: h,
		awaiting: make(map[uint32][]byte), state: l.saved, seen: n.cfg.Now()}
	if s.rows, s.recon, err = n.reopen(ctx, l); err != nil {
		return nil, err
	}
	s.recon.SetLog(&s.log)
	if s.book, err = restoreBook(l); err != nil {
		return nil, err
	}
	s.state.header = &s.book.t
	if s.reqKeys, err = n.cfg.Keys(ctx, requester, h.Period); err != nil {
		return nil, fmt.Errorf("recon: signing keys of %s: %w", requester, err)
	}
	if h.Protocol == transcript.ProtocolECDHBothLearn {
		done, _ := s.recon.Progress()
		c := int(h.ChunkSize)
		returned := min(done, (int(h.ResponderSize)+c-1)/c)
		for seq := returned; seq < len(s.book.hashes[ecdh.KindResponderMasked]); seq++ {
			own, err := s.recon.OwnChunk(uint32(seq))
			if err != nil {
				return nil, err
			}
			if s.awaiting[uint32(seq)], err = own.MarshalBinary(); err != nil {
				return nil, err
			}
		}
	}
	before, err := n.store.status(id)
	if err != nil {
		return nil, err
	}
	if len(l.last) > 0 {
		s.last.resp = new(riskmeshv1.PeerResponse)
		if err := proto.Unmarshal(l.last, s.last.resp); err != nil {
			return nil, fmt.Errorf("%w: last answer: %w", errSaved, err)
		}
		s.last.digest = l.lastDigest
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if old := n.byDigest[s.book.digest]; old != nil {
		return old, nil // revived meanwhile
	}
	if len(n.opened) >= n.cfg.MaxSessions {
		return nil, ErrBusy
	}
	s.t = n.newTracker(ecdh.RoleResponder, id, requester, l.list, h.Protocol, h.Period, h.Sequence)
	if before.GetLabels() == LabelsAgreed {
		s.t.setLabels(LabelsLost) // the keys of the matches before the restart are not saved
	}
	if s.result, err = reopenResult(s.t.st.GetResultPath(), l.resultSize, l.resultRows); err != nil {
		return nil, err
	}
	s.t.sizes(h.ResponderSize, h.RequesterSize)
	s.t.progress(s.recon, s.result.n)
	n.runs[id] = s.t
	n.opened[s.key], n.byDigest[s.book.digest] = s, s
	n.cfg.Logger.Info("reconciliation resumed", "id", id, "role", "responder")
	return s, nil
}
