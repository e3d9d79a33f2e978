package recon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/riskmesh/riskmesh/internal/durable"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Labels shared by consent (docs/reconciliation.md, "Labels, by
// consent"): in both-learn, when the requester asks for it and the
// responder's grant shares labels, the two nodes exchange after the
// matching the labels of their matched rows, and nothing about the others,
// keyed by what both derive from each match (ecdh.LabelExchange). Each
// label chunk is a transcript record signed by its sender.

// Label-exchange states, as Reconciliation.labels reports them.
const (
	LabelsDeclined = "declined"
	LabelsAgreed   = "agreed"
	LabelsShared   = "shared"
	LabelsLost     = "lost"
	LabelsFailed   = "failed"
)

// The node's labels are psi/catalog Labels, sent as they encode.
var _ [ecdh.LabelSize]byte = [catalog.LabelSize]byte{}

// labels is one side's part in an agreed label exchange: the keys of its
// matches, collected as the replies pass, then the exchange and the peer's
// labels of its rows.
type labels struct {
	matches []ecdh.Match
	x       *ecdh.LabelExchange
	peer    map[int]catalog.Label // by own row index
}

// collect keeps the label keys of this side's matches in reply, a
// responder-reply chunk just accepted or sent. It does nothing when no
// labels were agreed.
func (l *labels) collect(r *ecdh.Reconciler, reply *ecdh.Chunk) error {
	if l == nil {
		return nil
	}
	ms, err := r.MatchKeys(reply)
	if err != nil {
		return err
	}
	l.matches = append(l.matches, ms...)
	return nil
}

// pending reports whether the label exchange still has chunks to run once
// the matching is done: labels agreed and at least one match.
func (l *labels) pending() bool {
	return l != nil && len(l.matches) > 0 && (l.x == nil || !l.x.Done())
}

// start begins the exchange over the matches collected.
func (l *labels) start(r *ecdh.Reconciler) error {
	if l.x != nil {
		return nil
	}
	x, err := r.Labels(l.matches)
	if err != nil {
		return err
	}
	l.x, l.peer = x, make(map[int]catalog.Label, len(l.matches))
	return nil
}

// accept checks the peer's label chunk, recorded already, and keeps the
// labels it gives this side's rows.
func (l *labels) accept(c *ecdh.LabelChunk) error {
	got, err := l.x.Accept(c)
	if err != nil {
		return fmt.Errorf("%w: labels %d: %w", ErrPeerChunk, c.Seq, err)
	}
	for _, g := range got {
		var lab catalog.Label
		if err := lab.UnmarshalBinary(g.Label[:]); err != nil {
			return fmt.Errorf("%w: labels %d: %w", ErrPeerChunk, c.Seq, err)
		}
		l.peer[g.Index] = lab
	}
	return nil
}

// own builds, encodes, signs and records this side's label chunk seq.
func (l *labels) own(b *book, sign ecsig.Sign, rs *rows, seq uint32) (enc, sig []byte, err error) {
	c, err := l.x.OwnChunk(seq, rs.label)
	if err != nil {
		return nil, nil, err
	}
	if enc, err = c.MarshalBinary(); err != nil {
		return nil, nil, err
	}
	if sig, err = b.ownLabels(sign, c, enc); err != nil {
		return nil, nil, err
	}
	return enc, sig, nil
}

// report records how an agreed label exchange ended: every label
// shared (or no match to share) once the reconciliation is done, failed if
// it ended otherwise before the last.
func (l *labels) report(t *tracker, cause error) {
	switch {
	case l == nil:
	case cause == nil || l.done():
		t.setLabels(LabelsShared)
	default:
		t.setLabels(LabelsFailed)
	}
}

// done reports whether every peer label arrived.
func (l *labels) done() bool { return l != nil && l.x != nil && l.x.Done() }

// label returns row i's label as the exchange sends it.
func (r *rows) label(i int) ([ecdh.LabelSize]byte, error) {
	var out [ecdh.LabelSize]byte
	if i < 0 || i >= r.Len() {
		return out, fmt.Errorf("recon: row %d out of range [0, %d)", i, r.Len())
	}
	enc, err := r.labels[i].MarshalBinary()
	if err != nil {
		return out, err
	}
	return [ecdh.LabelSize]byte(enc), nil
}

// parseLabels decodes a label chunk the peer sent.
func parseLabels(enc []byte) (*ecdh.LabelChunk, error) {
	c := new(ecdh.LabelChunk)
	if err := c.UnmarshalBinary(enc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPeerChunk, err)
	}
	return c, nil
}

// exchangeLabels runs the requester's side of an agreed label exchange
// after the matching: its label chunk s, then the responder's chunk s in
// the answer, for every s.
func (r *run) exchangeLabels(ctx context.Context) error {
	l := r.labels
	if !l.pending() {
		return nil
	}
	if err := l.start(r.recon); err != nil {
		return err
	}
	for seq := range uint32(l.x.Chunks()) {
		enc, sig, err := l.own(r.book, r.n.cfg.Sign, r.rows, seq)
		if err != nil {
			return err
		}
		resp, err := r.exchange(ctx, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_ReconStep{ReconStep: &riskmeshv1.ReconStep{
			HeaderDigest: r.book.digest[:], Labels: enc, Signature: sig}}})
		if err != nil {
			return err
		}
		st := resp.GetReconStepped()
		if len(st.GetLabels()) == 0 {
			return fmt.Errorf("%w: labels %d not answered with labels", ErrPeerChunk, seq)
		}
		c, err := parseLabels(st.GetLabels())
		if err != nil {
			return err
		}
		if err := r.book.peerLabels(r.keys, c, st.GetLabels(), st.GetSignature()); err != nil {
			return err
		}
		if err := l.accept(c); err != nil {
			return err
		}
	}
	return nil
}

// labelStep answers a label chunk of the requester with the responder's
// chunk of the same position, once the matching is done and only if the
// labels were agreed.
func (n *Node) labelStep(s *session, m *riskmeshv1.ReconStep) (*riskmeshv1.PeerResponse, error) {
	l := s.labels
	switch {
	case l == nil:
		return nil, fmt.Errorf("%w: labels were not agreed for %s", ErrNotAdmitted, s.id)
	case len(m.GetChunk()) > 0:
		return nil, fmt.Errorf("%w: a chunk and labels in one step", errMalformed)
	case !s.recon.Done():
		return nil, fmt.Errorf("%w: labels before the matching ended", errMalformed)
	}
	if err := l.start(s.recon); err != nil {
		return nil, err
	}
	c, err := parseLabels(m.GetLabels())
	if err != nil {
		return nil, err
	}
	if err := s.book.peerLabels(s.reqKeys, c, m.GetLabels(), m.GetSignature()); err != nil {
		return nil, err
	}
	if err := l.accept(c); err != nil {
		return nil, err
	}
	enc, sig, err := l.own(s.book, n.cfg.Sign, s.rows, c.Seq)
	if err != nil {
		return nil, err
	}
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_ReconStepped{ReconStepped: &riskmeshv1.ReconStepped{Labels: enc, Signature: sig}}}, nil
}

// labelRecord builds the record of label chunk c encoded as enc: the next
// of its stream, after the matching, a responder's answering the
// requester's chunk of the same position.
func (b *book) labelRecord(c *ecdh.LabelChunk, enc []byte) (transcript.ChunkRecord, error) {
	r := transcript.ChunkRecord{Kind: c.Kind, Seq: c.Seq, Count: uint32(len(c.Entries)), Hash: transcript.ChunkHash(enc)}
	return r, b.place(&r)
}

// ownLabels signs and records a label chunk this side sends.
func (b *book) ownLabels(sign ecsig.Sign, c *ecdh.LabelChunk, enc []byte) ([]byte, error) {
	r, err := b.labelRecord(c, enc)
	if err != nil {
		return nil, fmt.Errorf("recon: record own labels: %w", err)
	}
	return b.signAdd(sign, r)
}

// peerLabels checks and records a label chunk the peer sent with its
// record signature.
func (b *book) peerLabels(keys [][]byte, c *ecdh.LabelChunk, enc, sig []byte) error {
	r, err := b.labelRecord(c, enc)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPeerChunk, err)
	}
	return b.verifyAdd(keys, r, sig)
}

// write adds, once every peer label arrived, the peer's label to each line
// of the result file at path: it is rewritten beside and renamed over,
// so a crash leaves either file whole.
func (l *labels) write(path string, rs *rows) (err error) {
	if !l.done() || len(l.peer) == 0 {
		return nil
	}
	byID := make(map[string]catalog.Label, len(l.peer))
	for i, lab := range l.peer {
		byID[string(rs.item(i))] = lab
	}
	in, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("recon: add peer labels: %w", err)
	}
	defer in.Close()
	tmp := path + ".labels"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("recon: add peer labels: %w", err)
	}
	defer func() {
		if err != nil {
			_ = out.Close()
			_ = os.Remove(tmp)
		}
	}()
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	sc := bufio.NewScanner(in)
	n := 0
	for sc.Scan() {
		var line resultLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return fmt.Errorf("recon: result file line: %w", err)
		}
		lab, ok := byID[line.ID]
		if !ok {
			return errors.New("recon: a matched row has no peer label")
		}
		peer := newLabelLine(lab)
		line.PeerLabel = &peer
		if err := enc.Encode(line); err != nil {
			return fmt.Errorf("recon: add peer labels: %w", err)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("recon: read result file: %w", err)
	}
	if n != len(byID) {
		return fmt.Errorf("recon: %d peer labels for %d result rows", len(byID), n)
	}
	if err := errors.Join(w.Flush(), out.Sync(), out.Close()); err != nil {
		return fmt.Errorf("recon: add peer labels: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("recon: add peer labels: %w", err)
	}
	return durable.SyncDir(filepath.Dir(path))
}
