package recon

// Disputes (docs/reconciliation.md, "Disputes"). A requester that refuses
// one of the responder's answers after accepting its signed record (its
// proof fails) keeps, beside the transcript, the chunk it sent and the
// answer it refused: with the transcript, exactly what an auditor needs to
// decide from the transcript alone (accounting/audit.JudgeReconciliation).
// The node hands them to its dispute queue (Config.Disputed) once the
// transcript is saved, and marks the reconciliation disputed once the
// queue holds them; a crash in between leaves the evidence unmarked, and
// QueueDisputes queues it when the node starts again. Queueing twice keeps
// the first record, so the dispute is queued once either way.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/durable"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ecdh"
)

// The files beside a transcript that make a dispute: the chunk this side
// sent, the answer it refused, and the mark that the dispute is queued.
const (
	answeredSuffix = ".answered"
	answerSuffix   = ".answer"
	disputedSuffix = ".disputed"
)

// restartClaim is the claim of a dispute queued by QueueDisputes, whose
// first reason was not kept.
const restartClaim = "the responder's answer failed its checks (queued when the node started again)"

// queueDispute hands the dispute of reconciliation id, whose evidence is
// kept, to Config.Disputed with reason, and marks it queued.
func (n *Node) queueDispute(id, reason string) error {
	d, err := readDispute(n.cfg.Dir, id)
	if err != nil {
		return err
	}
	if d.Transcript.Header.Requester != n.cfg.MSPID {
		return fmt.Errorf("%w: %s was not requested by this node", ErrUnknown, id)
	}
	if err := n.cfg.Disputed(d, reason); err != nil {
		return fmt.Errorf("recon: queue the dispute of %s: %w", id, err)
	}
	_, tp := paths(n.cfg.Dir, id)
	if err := durable.WriteFile(tp+disputedSuffix, nil, 0o600); err != nil {
		return fmt.Errorf("recon: mark %s disputed: %w", id, err)
	}
	n.cfg.Logger.Info("reconciliation dispute queued", "id", id)
	return nil
}

// QueueDisputes queues (Config.Disputed) the dispute of every
// reconciliation this node requested whose refused answer it kept and did
// not mark disputed: one a crash stopped between keeping the evidence and
// queueing it, or whose Disputed failed. The daemon runs it when the node
// starts and with Rebill after; a reconciliation still running is left
// alone. It returns the number queued.
func (n *Node) QueueDisputes(ctx context.Context) (int, error) {
	if n.cfg.Disputed == nil {
		return 0, nil
	}
	return eachFile(ctx, filepath.Join(n.cfg.Dir, "*"+answerSuffix), "queue disputes", func(p string) (bool, error) {
		id := strings.TrimSuffix(filepath.Base(p), answerSuffix)
		_, tp := paths(n.cfg.Dir, id)
		if _, err := os.Stat(tp + disputedSuffix); err == nil || n.runningHere(id) {
			return false, nil
		}
		if err := n.queueDispute(id, restartClaim); err != nil {
			return false, err
		}
		return true, nil
	})
}

// withDispute adds to st, the status of a reconciliation, where its
// dispute stands (Config.DisputeStatus), if this node requested it and
// disputed it.
func (n *Node) withDispute(st *riskmeshv1.Reconciliation) *riskmeshv1.Reconciliation {
	if n.cfg.DisputeStatus == nil || st.GetRole() != ecdh.RoleRequester.String() {
		return st
	}
	key := accounting.EntryKey{Period: st.GetPeriod(), Requester: n.cfg.MSPID, Responder: st.GetPeer(), Sequence: st.GetSequence()}
	if state, reason, ok := n.cfg.DisputeStatus(key); ok {
		st.Dispute = &riskmeshv1.ExchangeDispute{State: state, Reason: reason, Key: &riskmeshv1.EntryKey{
			Period: key.Period, Requester: key.Requester, Responder: key.Responder, Sequence: key.Sequence}}
	}
	return st
}

// ReadDispute returns the dispute a requester node whose Config.Dir is
// dir can file over the reconciliation it refused an answer of: the
// transcript and the two chunk bodies it kept (docs/protocol/ecdh.md,
// "Disputes"), for audit.JudgeReconciliation. ErrUnknown if it keeps no
// such evidence.
func ReadDispute(dir, requester, responder string, period, sequence uint64) (*audit.ReconDispute, error) {
	if !names.MSPID(requester) || !names.MSPID(responder) {
		return nil, fmt.Errorf("%w: party names", ErrUnknown)
	}
	return readDispute(dir, ID(requester, responder, period, sequence))
}

// readDispute is ReadDispute of reconciliation id.
func readDispute(dir, id string) (*audit.ReconDispute, error) {
	t, err := transcriptOf(dir, id)
	if err != nil {
		return nil, err
	}
	base := filepath.Join(dir, id)
	d := &audit.ReconDispute{Transcript: t}
	for _, part := range []struct {
		suffix string
		dst    *[]byte
	}{{answeredSuffix, &d.Answered}, {answerSuffix, &d.Answer}} {
		if *part.dst, err = readBounded(base+part.suffix, audit.MaxReconChunkBytes); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%w: no refused answer kept for %s", ErrUnknown, id)
			}
			return nil, err
		}
	}
	return d, nil
}

// readBounded reads a file of at most limit bytes.
func readBounded(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("recon: read evidence: %w", err)
	}
	if len(data) > limit {
		return nil, fmt.Errorf("recon: evidence %s over %d bytes", filepath.Base(path), limit)
	}
	return data, nil
}
