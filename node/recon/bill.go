package recon

// Billing (docs/reconciliation.md, "Accounting"). The responder bills a
// reconciliation it answered to the end: its node journals the entry in
// the same exactly-once outbox as its catalog answers (node/outbox), and
// marks the reconciliation billed beside its transcript once the entry is
// durable. The transcript is saved before the entry is journalled, so a
// crash in between leaves a complete transcript without the mark, which
// Rebill bills when the node starts again; a crash after the journal and
// before the mark journals the same entry again, which the outbox and the
// ledger take as the one already there. Either way the reconciliation is
// billed exactly once.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/durable"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Journal is the responder's durable accounting journal (node/outbox's
// Outbox): Put returns once e is durable, and putting an identical entry
// again changes nothing.
type Journal interface {
	Put(e accounting.Entry) (accounting.EntryKey, error)
}

// Periods reads a period's record from the ledger, for the prices it
// opened with.
type Periods func(ctx context.Context, n uint64) (*accounting.Period, error)

// JournalBill returns the Bill that journals a finished reconciliation's
// entry in j: both header signatures, and (n + m) items at the
// reconciliation price of the header's category for this responder in the
// header's period, the amount the contract checks.
func JournalBill(j Journal, periods Periods) Bill {
	return func(ctx context.Context, t *transcript.ReconTranscript) error {
		e, err := entryOf(ctx, t, periods)
		if err != nil {
			return err
		}
		if _, err := j.Put(e); err != nil {
			return fmt.Errorf("recon: journal the bill: %w", err)
		}
		return nil
	}
}

// entryOf is the entry that bills t.
func entryOf(ctx context.Context, t *transcript.ReconTranscript, periods Periods) (accounting.Entry, error) {
	h := &t.Header
	price, err := priceOf(ctx, periods, h.Period, h.Category, h.Responder)
	if err != nil {
		return accounting.Entry{}, err
	}
	count := int64(h.RequesterSize) + int64(h.ResponderSize)
	if price < 0 || price > math.MaxInt64/count {
		return accounting.Entry{}, fmt.Errorf("%w: %d items at %d", ErrNoPrice, count, price)
	}
	return accounting.NewReconEntry(h, t.RequesterSignature, t.ResponderSignature, count*price)
}

// priceOf is responder's reconciliation price for category in the period.
func priceOf(ctx context.Context, periods Periods, period uint64, category, responder string) (int64, error) {
	p, err := periods(ctx, period)
	if err != nil {
		return 0, fmt.Errorf("recon: period %d: %w", period, err)
	}
	price, ok := p.Price(category, accounting.ModeReconcile, responder)
	if !ok {
		return 0, fmt.Errorf("%w: category %s in period %d", ErrNoPrice, category, period)
	}
	return price, nil
}

// PriceCheck returns the Config.Priced of a responder that bills through
// JournalBill: it refuses a reconciliation the period prices no
// reconciliation of category for, as the provider refuses a catalog or
// live query without a price.
func PriceCheck(periods Periods, responder string) func(ctx context.Context, period uint64, category string) error {
	return func(ctx context.Context, period uint64, category string) error {
		_, err := priceOf(ctx, periods, period, category, responder)
		return err
	}
}

// billedSuffix names the mark beside a transcript that its reconciliation's
// entry is journalled.
const billedSuffix = ".billed"

// bill bills reconciliation id through Config.Bill, if set, and marks it
// billed.
func (n *Node) bill(ctx context.Context, id string, t *transcript.ReconTranscript) error {
	if n.cfg.Bill == nil {
		return nil
	}
	if err := n.cfg.Bill(ctx, t); err != nil {
		return err
	}
	_, tp := paths(n.cfg.Dir, id)
	if err := durable.WriteFile(tp+billedSuffix, nil, 0o600); err != nil {
		return fmt.Errorf("recon: mark billed: %w", err)
	}
	return nil
}

// Rebill bills every reconciliation this node answered to the end that is
// not marked billed: one a crash, or a failed Bill, stopped between its
// transcript and its journalled entry. The daemon runs it when it starts
// and now and then after; a reconciliation still running has no complete
// transcript and is left alone. A transcript settled once, billed or never
// to be billed by this node (one it requested, one that ended before its
// matching did), is not read again by this Node. It returns the number
// billed.
func (n *Node) Rebill(ctx context.Context) (int, error) {
	if n.cfg.Bill == nil {
		return 0, nil
	}
	return eachFile(ctx, filepath.Join(n.cfg.Dir, "*.rmrc"), "rebill", func(tp string) (bool, error) {
		if n.isSettled(tp) {
			return false, nil
		}
		if _, err := os.Stat(tp + billedSuffix); err == nil {
			n.settle(tp)
			return false, nil
		}
		id := strings.TrimSuffix(filepath.Base(tp), ".rmrc")
		if n.runningHere(id) {
			return false, nil // its transcript is not final yet
		}
		t, err := loadTranscript(tp)
		if err != nil {
			return false, err
		}
		if t.Header.Responder != n.cfg.MSPID || !t.Complete() {
			n.settle(tp)
			return false, nil
		}
		if err := n.bill(ctx, id, t); err != nil {
			return false, err
		}
		n.settle(tp)
		n.cfg.Logger.Info("reconciliation billed after a restart", "period", t.Header.Period, "requester", t.Header.Requester)
		return true, nil
	})
}

// eachFile calls do for every file matching pattern until ctx ends, and
// returns how many do reported done and every error it returned, joined:
// the scans Rebill and QueueDisputes make of this node's directory after a
// restart, where one file's failure must not stop the others. what names
// the scan in its error.
func eachFile(ctx context.Context, pattern, what string, do func(path string) (done bool, err error)) (int, error) {
	names, err := filepath.Glob(pattern)
	if err != nil {
		return 0, fmt.Errorf("recon: %s: %w", what, err)
	}
	var (
		count int
		errs  []error
	)
	for _, p := range names {
		if ctx.Err() != nil {
			return count, ctx.Err()
		}
		done, err := do(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if done {
			count++
		}
	}
	return count, errors.Join(errs...)
}

// isSettled reports whether Rebill settled transcript path already.
func (n *Node) isSettled(path string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.settled[path]
}

func (n *Node) settle(path string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settled[path] = true
}

// runningHere reports whether reconciliation id runs on this Node, so that
// its transcript may still change (a requester interrupted and resumed
// saves it again).
func (n *Node) runningHere(id string) bool {
	n.mu.Lock()
	t := n.runs[id]
	n.mu.Unlock()
	return t != nil && t.snapshot().GetState() == StateRunning
}

// ReadTranscript returns the transcript a node whose Config.Dir is dir
// keeps of a reconciliation it ran or answered, or ErrUnknown if it keeps
// none. It reads files only, so the requester's bill reconciliation can
// use it without the Node.
func ReadTranscript(dir, requester, responder string, period, sequence uint64) (*transcript.ReconTranscript, error) {
	if !names.MSPID(requester) || !names.MSPID(responder) {
		return nil, fmt.Errorf("%w: party names", ErrUnknown)
	}
	return transcriptOf(dir, ID(requester, responder, period, sequence))
}

// transcriptOf is ReadTranscript of reconciliation id.
func transcriptOf(dir, id string) (*transcript.ReconTranscript, error) {
	_, tp := paths(dir, id)
	t, err := loadTranscript(tp)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no transcript of %s", ErrUnknown, id)
	}
	return t, err
}

// loadTranscript reads and parses a transcript file this node saved.
func loadTranscript(path string) (*transcript.ReconTranscript, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recon: read transcript: %w", err)
	}
	t, err := transcript.ParseReconTranscript(data)
	if err != nil {
		return nil, fmt.Errorf("recon: transcript %s: %w", filepath.Base(path), err)
	}
	return t, nil
}
