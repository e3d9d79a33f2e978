package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/outbound"
	"github.com/riskmesh/riskmesh/node/outbox"
	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// errNoResponder is a reconciliation asked of an institution the registry
// does not hold, or before the first period opened.
var errNoResponder = errors.New("daemon: cannot reconcile now")

// reconDir is where reconciliations keep their results and transcripts.
func reconDir(dataDir string) string { return filepath.Join(dataDir, "reconciliations") }

// reconTranscripts reads the transcripts of the reconciliations this node
// ran, which its requester side matches the reconciliation entries billed
// to it against.
func reconTranscripts(dataDir string) func(k accounting.EntryKey) (*transcript.ReconTranscript, error) {
	dir := reconDir(dataDir)
	return func(k accounting.EntryKey) (*transcript.ReconTranscript, error) {
		return recon.ReadTranscript(dir, k.Requester, k.Responder, k.Period, k.Sequence)
	}
}

// rebillInterval is how often the node bills the reconciliations it
// answered whose bill a crash or a ledger failure left unjournalled
// (recon.Node.Rebill), and queues the disputes a crash left unqueued
// (recon.Node.QueueDisputes); both also run once at start.
const rebillInterval = 5 * time.Minute

// reconciler sets up reconciliations: results and transcripts under
// DataDir/reconciliations, peers' signing keys from the registry view,
// the bills of those it answers journalled in the provider's outbox
// (or an outbox of its own on node.db, when this node provides no
// catalog), then recorded exactly once like a catalog answer, and, with
// disputes on, the answers it refuses disputed through the node's queue.
func (n *node) reconciler(ctx context.Context, c recon.Config) (*recon.Node, error) {
	c.MSPID, c.Sign, c.Dir = n.cfg.MSPID, n.keys.Sign, reconDir(n.cfg.DataDir)
	c.DB, c.Seal = n.db, n.seal
	c.Keys = func(ctx context.Context, msp string, period uint64) ([][]byte, error) {
		inst, ok := n.dir.Recheck(ctx).Institution(msp)
		if !ok {
			return nil, fmt.Errorf("%s is not in the registry", msp)
		}
		return inst.SigningKeysIn(period), nil
	}
	c.Logger = n.log.With("component", "recon")
	journal, err := n.reconJournal(ctx)
	if err != nil {
		return nil, err
	}
	c.Bill = recon.JournalBill(journal, n.ledger.Ledger.Period)
	c.Priced = recon.PriceCheck(n.ledger.Ledger.Period, n.cfg.MSPID)
	if dc := n.cfg.Disputes; dc != nil {
		auto, err := n.disputes(ctx, dc)
		if err != nil {
			return nil, err
		}
		c.Disputed, c.DisputeStatus = auto.EnqueueReconciliation, auto.Status
	}
	rn, err := recon.New(c)
	if err != nil {
		return nil, err
	}
	n.goRun("recon rebill", func(ctx context.Context) error {
		t := time.NewTicker(rebillInterval)
		defer t.Stop()
		for {
			if _, err := rn.Rebill(ctx); err != nil && ctx.Err() == nil {
				c.Logger.Warn("rebill reconciliations", "err", err)
			}
			if _, err := rn.QueueDisputes(ctx); err != nil && ctx.Err() == nil {
				c.Logger.Warn("queue reconciliation disputes", "err", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}, ctx)
	return rn, nil
}

// reconJournal is the outbox the bills of the reconciliations this node
// answers go through: the provider's, or, when this node provides no
// catalog, one of its own on node.db, tuned like the provider's by
// Config.Outbox (node.yaml's outbox section) and running until ctx ends.
func (n *node) reconJournal(ctx context.Context) (*outbox.Outbox, error) {
	if n.journal != nil {
		return n.journal, nil
	}
	oc := n.cfg.Outbox
	oc.Ledger, oc.Logger = n.ledger.Ledger, n.log.With("component", "recon-outbox")
	journal, err := outbox.Open(n.db, oc)
	if err != nil {
		return nil, err
	}
	n.goRun("recon outbox", journal.Run, ctx)
	n.journal = journal
	return journal, nil
}

// reconAPI serves the business API's reconciliation methods: it resolves
// the responder in the registry, takes the current period, and runs the
// reconciliation under the node's lifetime rather than the call's.
type reconAPI struct {
	ctx   context.Context
	dir   *registry.Directory
	conns *outbound.Conns
	node  *recon.Node
}

// sendTo is the way to responder for a reconciliation: its registered
// endpoint, through the node's outbound connections.
func (a *reconAPI) sendTo(ctx context.Context, responder string) (recon.Send, error) {
	inst, ok := a.dir.Recheck(ctx).Institution(responder)
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a registered institution", errNoResponder, responder)
	}
	return func(ctx context.Context, r *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
		return a.conns.Do(ctx, &inst, r)
	}, nil
}

func (a *reconAPI) StartReconciliation(ctx context.Context, req *riskmeshv1.StartReconciliationRequest) (*riskmeshv1.Reconciliation, error) {
	p := recon.Protocol(req.GetMode())
	if p == 0 {
		return nil, fmt.Errorf("%w: mode %q is not %s or %s", recon.ErrRequest, req.GetMode(), recon.ModeRequesterLearns, recon.ModeBothLearn)
	}
	send, err := a.sendTo(ctx, req.GetResponder())
	if err != nil {
		return nil, err
	}
	period := a.dir.Recheck(ctx).Period.Number
	if period == 0 {
		return nil, fmt.Errorf("%w: no period is open", errNoResponder)
	}
	return a.node.Start(a.ctx, send, recon.Request{Responder: req.GetResponder(), List: req.GetList(), PeerList: req.GetPeerList(),
		Protocol: p, Period: period, ShareLabels: req.GetShareLabels()})
}

func (a *reconAPI) ResumeReconciliation(ctx context.Context, id string) (*riskmeshv1.Reconciliation, error) {
	return a.node.ResumeStart(a.ctx, id, func(r string) (recon.Send, error) { return a.sendTo(ctx, r) })
}

func (a *reconAPI) GetReconciliation(id string) (*riskmeshv1.Reconciliation, error) {
	return a.node.Get(id)
}

func (a *reconAPI) ListReconciliations() []*riskmeshv1.Reconciliation { return a.node.List() }

func (a *reconAPI) ReconciledRows(ctx context.Context, id string, send func(*riskmeshv1.ReconciledRows) error) error {
	return a.node.Rows(ctx, id, send)
}
