package recon

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// States of a reconciliation as the API reports them.
const (
	StateRunning = "running"
	StateDone    = "done"
	StateFailed  = "failed"
	// StateInterrupted is a reconciliation stopped before its end by
	// something that does not end it: its node stopping, or the peer out
	// of reach. Resume continues it.
	StateInterrupted = "interrupted"
)

// Mode names as node.yaml, the API and the CLI write them.
const (
	ModeRequesterLearns = "requester-learns"
	ModeBothLearn       = "both-learn"
)

// Protocol is the transcript protocol of a mode name; 0 for anything else.
func Protocol(mode string) transcript.Protocol {
	switch mode {
	case ModeRequesterLearns:
		return transcript.ProtocolECDHRequesterLearns
	case ModeBothLearn:
		return transcript.ProtocolECDHBothLearn
	}
	return 0
}

func modeName(p transcript.Protocol) string {
	if p == transcript.ProtocolECDHBothLearn {
		return ModeBothLearn
	}
	return ModeRequesterLearns
}

// tracker is the live state of one reconciliation, which Get, List and
// the API's watch read.
type tracker struct {
	mu sync.Mutex
	st *riskmeshv1.Reconciliation
}

// track registers a reconciliation's state under its id, in memory and
// in node.db, so that List and Get show it after a restart. A
// reconciliation still running under id is ErrRunning.
func (n *Node) track(role ecdh.Role, id, peer, list string, p transcript.Protocol, period, sequence uint64) (*tracker, error) {
	t := n.newTracker(role, id, peer, list, p, period, sequence)
	n.mu.Lock()
	if old := n.runs[id]; old != nil && old.snapshot().GetState() == StateRunning {
		n.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrRunning, id)
	}
	n.runs[id] = t
	n.mu.Unlock()
	return t, n.store.setStatus(t.snapshot())
}

func (n *Node) newTracker(role ecdh.Role, id, peer, list string, p transcript.Protocol, period, sequence uint64) *tracker {
	resultPath, _ := paths(n.cfg.Dir, id)
	return &tracker{st: &riskmeshv1.Reconciliation{Id: id, Role: role.String(), Peer: peer, List: list, Mode: modeName(p),
		State: StateRunning, Period: period, Sequence: sequence, ResultPath: resultPath}}
}

func (t *tracker) update(f func(st *riskmeshv1.Reconciliation)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(t.st)
}

// progress records a Reconciler's progress and this side's matches.
func (t *tracker) progress(r *ecdh.Reconciler, matches int) {
	done, total := r.Progress()
	t.update(func(st *riskmeshv1.Reconciliation) {
		st.ChunksDone, st.ChunksTotal, st.Matches = uint32(done), uint32(total), uint64(matches)
	})
}

// sizes records the sizes the header fixes, from this side's view.
func (t *tracker) sizes(own, peer uint32) {
	t.update(func(st *riskmeshv1.Reconciliation) { st.OwnSize, st.PeerSize = own, peer })
}

// consent records whether labels are exchanged, asked by the requester
// and agreed by the responder's grant, and returns the state of an agreed
// exchange (nil if there is none).
func (t *tracker) consent(asked, agreed bool) *labels {
	switch {
	case !asked:
		return nil
	case !agreed:
		t.setLabels(LabelsDeclined)
		return nil
	}
	t.setLabels(LabelsAgreed)
	return &labels{}
}

// setLabels records the label exchange's state.
func (t *tracker) setLabels(state string) {
	t.update(func(st *riskmeshv1.Reconciliation) { st.Labels = state })
}

// interrupt records a reconciliation stopped by err, to be resumed.
func (t *tracker) interrupt(err error) {
	t.update(func(st *riskmeshv1.Reconciliation) { st.State, st.Error = StateInterrupted, err.Error() })
}

// finish records how the reconciliation ended.
func (t *tracker) finish(err error) {
	t.update(func(st *riskmeshv1.Reconciliation) {
		st.State = StateDone
		if err != nil {
			st.State, st.Error = StateFailed, err.Error()
		}
	})
}

func (t *tracker) snapshot() *riskmeshv1.Reconciliation {
	t.mu.Lock()
	defer t.mu.Unlock()
	return proto.CloneOf(t.st)
}

// Get returns the state of a reconciliation this node ran or answered,
// live or as node.db recorded it, with where its dispute stands.
func (n *Node) Get(id string) (*riskmeshv1.Reconciliation, error) {
	n.mu.Lock()
	t := n.runs[id]
	n.mu.Unlock()
	if t != nil {
		return n.withDispute(t.snapshot()), nil
	}
	st, err := n.store.status(id)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknown, id)
	}
	return n.withDispute(stale(st)), nil
}

// stale is a status node.db recorded for a reconciliation this node does
// not run: one recorded as running stopped when the node did.
func stale(st *riskmeshv1.Reconciliation) *riskmeshv1.Reconciliation {
	if st.GetState() == StateRunning {
		st.State = StateInterrupted
	}
	return st
}

// List returns every reconciliation this node ran or answered, live or as
// node.db recorded it, by id. If node.db cannot be read it lists the
// live ones and logs why.
func (n *Node) List() []*riskmeshv1.Reconciliation {
	byID, err := n.store.statuses()
	if err != nil {
		n.cfg.Logger.Warn("reconciliations in node.db not listed", "err", err)
		byID = make(map[string]*riskmeshv1.Reconciliation)
	}
	for id, st := range byID {
		byID[id] = stale(st)
	}
	n.mu.Lock()
	ts := make([]*tracker, 0, len(n.runs))
	for _, t := range n.runs {
		ts = append(ts, t)
	}
	n.mu.Unlock()
	for _, t := range ts {
		st := t.snapshot()
		byID[st.GetId()] = st
	}
	for id, st := range byID {
		byID[id] = n.withDispute(st)
	}
	out := slices.Collect(maps.Values(byID))
	slices.SortFunc(out, func(a, b *riskmeshv1.Reconciliation) int { return strings.Compare(a.GetId(), b.GetId()) })
	return out
}

// MaxRowsPerBatch is how many rows Rows passes at once.
const MaxRowsPerBatch = 1000

// Rows reads a reconciliation's result file and passes its rows to send in
// batches of at most MaxRowsPerBatch, reading one batch at a time. A
// reconciliation still running yields the rows learned so far.
func (n *Node) Rows(ctx context.Context, id string, send func(*riskmeshv1.ReconciledRows) error) error {
	st, err := n.Get(id)
	if err != nil {
		return err
	}
	f, err := os.Open(st.GetResultPath())
	if err != nil {
		return fmt.Errorf("recon: open result file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	batch := &riskmeshv1.ReconciledRows{}
	for sc.Scan() {
		var l resultLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("recon: result file line: %w", err)
		}
		row := &riskmeshv1.ReconciledRow{Id: l.ID, Category: uint32(l.Category),
			Reason: uint32(l.Reason), Listed: l.Listed, Reference: l.Reference}
		if p := l.PeerLabel; p != nil {
			row.PeerLabel = &riskmeshv1.ReconciledLabel{Category: uint32(p.Category), Reason: uint32(p.Reason),
				Listed: p.Listed, Reference: p.Reference}
		}
		batch.Rows = append(batch.Rows, row)
		if len(batch.Rows) == MaxRowsPerBatch {
			if err := send(batch); err != nil {
				return err
			}
			batch = &riskmeshv1.ReconciledRows{}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("recon: read result file: %w", err)
	}
	if len(batch.Rows) > 0 {
		return send(batch)
	}
	return nil
}
