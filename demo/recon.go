package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
)

// The reconciliation scene: the consumer lender and a bank compare their
// books of joint loans (docs/reconciliation.md), both learn, with proofs.
const (
	reconRequester = Requester  // Lender3MSP
	reconResponder = "Bank2MSP" // restored honest after the dispute scene
	// ReconRows is each side's list in the reconciliation scene: 20,000
	// rows rather than the 100,000, which would add about a
	// minute of CPU to the demo on two cores (docs/demo.md).
	ReconRows = 20_000
	// reconOverlap is the share of each list the other also holds.
	reconOverlap = ReconRows / 4
	reconCode    = 1 // list category code of the loan rows
	// reconCategory is the loan rows' category, and reconPrice the
	// reconciliation price the regulator sets for it (tokens per row of
	// either side, billed to the requester: docs/reconciliation.md,
	// "Accounting"). The quality scene's rollover brings it into force.
	reconCategory = "recon-loans"
	reconPrice    = 1
)

// errReconMismatch is a side whose reconciled rows are not the planted
// joint loans.
var errReconMismatch = errors.New("demo: reconciled rows differ from the planted joint loans")

// reconcile gives the lender and the bank each a loan book sharing planted
// rows, admits the lender on the bank's node.yaml (both restarted with
// their reconcile: section, as an operator would), runs one both-learn
// reconciliation through the lender's business API and checks each side
// got exactly the planted joint rows.
func (d *session) reconcile(ctx context.Context, cons *synth.Consortium) error {
	own, peer, joint, err := reconLists(cons)
	if err != nil {
		return err
	}
	done := d.step("reconcile", fmt.Sprintf("%s and %s reconcile their loan books (%d and %d rows, %d joint; both learn, verifiable ECDH-PSI)",
		reconRequester, reconResponder, len(own.Entries), len(peer.Entries), len(joint)))
	dir := filepath.Join(d.summary.Dir, "lists")
	ownPath, peerPath := filepath.Join(dir, "recon-lender3.csv"), filepath.Join(dir, "recon-bank2.csv")
	for path, l := range map[string]synth.List{ownPath: own, peerPath: peer} {
		if err := writeList(path, config.KindCSV, l); err != nil {
			return err
		}
	}
	m := synth.Mapping()
	mapping := &config.Mapping{ID: m.ID, Type: m.Type, Category: m.Category, Reason: m.Reason, Listed: m.Listed, Reference: m.Reference}
	list := func(name, path string) config.Source {
		return config.Source{Name: name, Category: reconCategory, Code: reconCode, Kind: config.KindCSV, Path: path, Mapping: mapping}
	}
	if err := d.net.Restart(ctx, reconResponder, func(c *config.Config) {
		c.Reconcile = config.Reconcile{Lists: []config.Source{list("loans", peerPath)},
			Grants: []config.Grant{{Requester: reconRequester, List: "loans", Modes: []string{recon.ModeBothLearn}}}}
	}); err != nil {
		return err
	}
	if err := d.net.Restart(ctx, reconRequester, func(c *config.Config) {
		c.Reconcile = config.Reconcile{Lists: []config.Source{list("my-loans", ownPath)}}
	}); err != nil {
		return err
	}
	lender, err := d.net.Client(reconRequester)
	if err != nil {
		return err
	}
	start := time.Now()
	st, err := lender.StartReconciliation(ctx, &riskmeshv1.StartReconciliationRequest{Responder: reconResponder,
		List: "my-loans", PeerList: "loans", Mode: recon.ModeBothLearn})
	if err != nil {
		return fmt.Errorf("start the reconciliation: %w", err)
	}
	if st, err = waitReconciled(ctx, lender, st.GetId()); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   %s: %d chunks in %s\n", st.GetId(), st.GetChunksTotal(), time.Since(start).Round(100*time.Millisecond))
	slices.Sort(joint)
	for _, msp := range []string{reconRequester, reconResponder} {
		c, err := d.net.Client(msp)
		if err != nil {
			return err
		}
		got, err := reconciledIDs(ctx, c, st.GetId())
		if err != nil {
			return fmt.Errorf("%s's reconciled rows: %w", msp, err)
		}
		if !slices.Equal(got, joint) {
			return fmt.Errorf("%w: %s has %d rows, %d planted", errReconMismatch, msp, len(got), len(joint))
		}
		fmt.Fprintf(d.out, "   %-11s sees exactly the %d joint loans, as its own rows; nothing of the other %d\n",
			msp, len(got), len(own.Entries)-len(joint))
	}
	if err := d.reconBilled(ctx, st); err != nil {
		return err
	}
	done()
	return nil
}

// reconBilled waits for the responder's entry of reconciliation st on the
// ledger: both sides' rows at the reconciliation price, billed to the
// requester.
func (d *session) reconBilled(ctx context.Context, st *riskmeshv1.Reconciliation) error {
	key := accounting.EntryKey{Requester: reconRequester, Responder: reconResponder, Period: st.GetPeriod(), Sequence: st.GetSequence()}
	rows := int64(st.GetOwnSize()) + int64(st.GetPeerSize())
	var amount int64
	err := d.net.Wait(ctx, "the reconciliation's entry", func() error {
		entries, err := d.net.Entries(ctx, key.Period)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Key == key {
				amount = e.Amount
				if amount != rows*reconPrice {
					return fmt.Errorf("%w: billed %d tokens, want %d rows at %d", errReconMismatch, amount, rows, reconPrice)
				}
				return nil
			}
		}
		return errors.New("not on the ledger yet")
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   billed on the ledger: %d tokens to %s (%d + %d rows at %d), recorded by %s\n",
		amount, reconRequester, st.GetOwnSize(), st.GetPeerSize(), reconPrice, reconResponder)
	return nil
}

// reconLists draws the two loan books from the consortium's identifiers:
// ReconRows distinct rows each (fewer at a small demo scale), reconOverlap
// of them on both. joint are the shared identifiers.
func reconLists(cons *synth.Consortium) (own, peer synth.List, joint []string, err error) {
	seen := map[string]bool{}
	var pool []catalogpsi.Entry
	for _, l := range cons.Lists {
		for _, e := range l.Entries {
			if id := e.ID.String(); !seen[id] {
				seen[id] = true
				e.Label.Category = reconCode
				pool = append(pool, e)
			}
		}
	}
	n := min(ReconRows, len(pool)*4/7)
	overlap := n * reconOverlap / ReconRows
	if overlap == 0 {
		return own, peer, nil, fmt.Errorf("demo: %d identifiers are too few to reconcile", len(pool))
	}
	own = synth.List{MSPID: reconRequester, Entries: pool[:n]}
	peer = synth.List{MSPID: reconResponder, Entries: pool[n-overlap : 2*n-overlap]}
	for _, e := range pool[n-overlap : n] {
		joint = append(joint, e.ID.String())
	}
	return own, peer, joint, nil
}

// waitReconciled polls a reconciliation until it ends.
func waitReconciled(ctx context.Context, c riskmeshv1.RiskMeshClient, id string) (*riskmeshv1.Reconciliation, error) {
	for {
		st, err := c.GetReconciliation(ctx, &riskmeshv1.GetReconciliationRequest{Id: id})
		if err != nil {
			return nil, err
		}
		switch st.GetState() {
		case recon.StateDone:
			return st, nil
		case recon.StateFailed, recon.StateInterrupted:
			return nil, fmt.Errorf("reconciliation %s %s: %s", id, st.GetState(), st.GetError())
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// reconciledIDs fetches a reconciliation's rows from a node, sorted.
func reconciledIDs(ctx context.Context, c riskmeshv1.RiskMeshClient, id string) ([]string, error) {
	stream, err := c.FetchReconciliation(ctx, &riskmeshv1.GetReconciliationRequest{Id: id})
	if err != nil {
		return nil, err
	}
	var ids []string
	for {
		rows, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for _, r := range rows.GetRows() {
			ids = append(ids, r.GetId())
		}
	}
	slices.Sort(ids)
	return ids, nil
}
