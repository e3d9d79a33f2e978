package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/node/auditor"
	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// dispute is the scene with a misbehaving provider: Rogue restarts
// with provider.misbehave, so its answers carry a corrupted element under a
// valid signature and are billed; the requester's node finds the proof
// false, files the dispute with the regulator's auditor service by itself,
// and reverses the entry once the auditor upholds it. The scene checks each
// step from the outside (the query's status, GetQuery's dispute state, the
// ledger's entry), then restarts the provider honest.
func (d *session) dispute(ctx context.Context, batch *synth.Batch) error {
	done := d.step("dispute", fmt.Sprintf("dispute: %s restarts as a misbehaving provider (provider.misbehave: %s)", Rogue, config.MisbehaveCorruptEvaluation))
	misbehave := func(c *config.Config) { c.Provider.Misbehave = config.MisbehaveCorruptEvaluation }
	if err := d.net.Restart(ctx, Rogue, misbehave); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   %s restarted: each answer now has one element altered after its proof, signed and billed as usual\n", Rogue)
	client, err := d.net.Client(Requester)
	if err != nil {
		return err
	}
	req := batch.Request()
	req.Providers = []string{Rogue}
	id, res, err := runQueryID(ctx, client, req)
	if err != nil {
		return err
	}
	var part *riskmeshv1.ProviderResult
	for _, p := range res.GetProviders() {
		if p.GetProvider() == Rogue {
			part = p
		}
	}
	if part == nil || part.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED {
		return fmt.Errorf("dispute: %s's answer was not found bad: %v", Rogue, res.GetProviders())
	}
	fmt.Fprintf(d.out, "   %s asks %s about the same %d identifiers: %s, %d items billed, %d tokens (%s)\n", Requester, Rogue,
		len(batch.Items), providerWord(part.GetStatus()), part.GetItems(), part.GetAmount(), part.GetError().GetMessage())
	auditorMSP := d.net.Regulator().MSPID
	fmt.Fprintf(d.out, "   %s's node files the dispute with the auditor, %s (riskmesh audit serve on %s)\n", Requester, auditorMSP, d.net.AuditorAddress())

	var disputes []*riskmeshv1.ExchangeDispute
	err = d.net.Wait(ctx, "the dispute's verdict acted on", func() error {
		rec, err := client.GetQuery(ctx, &riskmeshv1.GetQueryRequest{QueryId: id})
		if err != nil {
			return err
		}
		for _, p := range rec.GetResult().GetProviders() {
			if p.GetProvider() == Rogue {
				disputes = p.GetDisputes()
			}
		}
		if len(disputes) == 0 {
			return errors.New("no dispute listed")
		}
		for _, x := range disputes {
			if x.GetState() == riskmeshv1.DisputeState_DISPUTE_STATE_PENDING {
				return fmt.Errorf("dispute pending: %s", x.GetReason())
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	keys := map[accounting.EntryKey]bool{}
	for _, x := range disputes {
		k := x.GetKey()
		fmt.Fprintf(d.out, "   dispute of period %d sequence %d: %s (%s)\n", k.GetPeriod(), k.GetSequence(), disputeWord(x.GetState()), x.GetReason())
		if x.GetState() != riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED {
			return fmt.Errorf("dispute: %s's bad answer ended %v, not reversed: %s", Rogue, x.GetState(), x.GetReason())
		}
		keys[accounting.EntryKey{Period: k.GetPeriod(), Requester: k.GetRequester(), Responder: k.GetResponder(), Sequence: k.GetSequence()}] = true
	}
	entries, err := d.net.Entries(ctx, 1)
	if err != nil {
		return err
	}
	reversed := 0
	for _, e := range entries {
		if !keys[e.Key] {
			continue
		}
		if e.Reversal == nil || e.Reversal.Auditor != auditorMSP {
			return fmt.Errorf("dispute: the ledger entry of sequence %d is not reversed by %s", e.Key.Sequence, auditorMSP)
		}
		reversed++
		fmt.Fprintf(d.out, "   ledger entry %s -> %s, %s, %d items, %d tokens: reversed by %s (transaction %s); settlement will not charge it\n",
			e.Key.Requester, e.Key.Responder, e.Category, e.Count, e.Amount, e.Reversal.Auditor, e.Reversal.TxID)
		entry := entryOf(e)
		entry.Reversed = e.Reversal.Auditor
		d.summary.Entries = append(d.summary.Entries, entry)
	}
	if reversed != len(keys) {
		return fmt.Errorf("dispute: %d of %d disputed entries on the ledger", reversed, len(keys))
	}
	d.summary.Dispute = &Dispute{
		Provider: Rogue, Status: providerWord(part.GetStatus()), State: disputeWord(riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED),
		Items: part.GetItems(), Amount: part.GetAmount(), Auditor: auditorMSP, Reversed: reversed,
	}
	honest := func(c *config.Config) { c.Provider.Misbehave = "" }
	if err := d.net.Restart(ctx, Rogue, honest); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   %s restarted honest\n", Rogue)
	done()
	return nil
}

// claimReason is the requester's claim in the claim scene.
const claimReason = "the label looks wrong"

// claim is the scene of a dispute that fails: the requester disputes one
// of its honest answers with `riskmesh dispute`, run as an operator would
// from a shell, claiming a wrong label. That is not a cryptographic
// failure: the auditor verifies the transcript against the ledger, finds
// every check holds, and rejects the dispute with its signed reason; the
// charge stands on the ledger. The scene reads the command's --json
// outcome and checks the verdict and the ledger's entry, not its wording.
func (d *session) claim(ctx context.Context) error {
	done := d.step("claim", fmt.Sprintf("a dispute of an honest answer: %s disputes it with riskmesh dispute", Requester))
	if len(d.recorded) == 0 {
		return errors.New("claim: no recorded answer")
	}
	e := d.recorded[0]
	node, err := d.net.Node(Requester)
	if err != nil {
		return err
	}
	entry := fmt.Sprintf("%d/%s/%d", e.Key.Period, e.Key.Responder, e.Key.Sequence)
	fmt.Fprintf(d.out, "   $ riskmesh dispute --config %s/node.yaml --entry %s --auditor-addr %s --reason %q --json\n",
		Requester, entry, d.net.AuditorAddress(), claimReason)
	out, err := d.riskmesh(ctx, "dispute", "--config", node.Config(), "--api", "unix://"+node.Socket(), "--entry", entry,
		"--auditor", d.net.Regulator().MSPID, "--auditor-addr", d.net.AuditorAddress(), "--reason", claimReason, "--json")
	if err != nil {
		return fmt.Errorf("claim: %w", err)
	}
	var o dispute.Outcome
	if err := json.Unmarshal(out, &o); err != nil {
		return fmt.Errorf("claim: riskmesh dispute --json: %w", err)
	}
	v := o.Verdict
	switch {
	case v == nil || auditor.KeyFromProto(v.GetKey()) != e.Key:
		return fmt.Errorf("claim: the verdict is not on entry %s", entry)
	case v.GetVerdict() != riskmeshv1.Verdict_VERDICT_REJECTED || o.Reversed || o.Pending:
		return fmt.Errorf("claim: the dispute of an honest answer ended %v (reversed %v, pending %v): %s", v.GetVerdict(), o.Reversed, o.Pending, v.GetReason())
	}
	fmt.Fprintf(d.out, "   dispute %d: %s %s it, the charge stands (%s)\n", v.GetDisputeId(), v.GetAuditor(),
		strings.ToLower(strings.TrimPrefix(v.GetVerdict().String(), "VERDICT_")), v.GetReason())
	got, err := d.net.Admin().Entry(ctx, e.Key)
	if err != nil {
		return err
	}
	if got.Reversal != nil {
		return fmt.Errorf("claim: the honest answer's charge was reversed by %s", got.Reversal.Auditor)
	}
	fmt.Fprintf(d.out, "   the ledger entry is unchanged: %s keeps its %d tokens\n", e.Key.Responder, got.Amount)
	d.summary.Claim = &Claim{Responder: e.Key.Responder, Sequence: e.Key.Sequence, Verdict: "rejected", Stands: true}
	done()
	return nil
}

// riskmesh runs the riskmesh binary with args, as an operator would from a
// shell, and returns its standard output.
func (d *session) riskmesh(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, d.cfg.Binary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("riskmesh %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// disputeWord is a dispute state without its enum prefix, e.g. REVERSED.
func disputeWord(s riskmeshv1.DisputeState) string {
	return strings.TrimPrefix(s.String(), "DISPUTE_STATE_")
}
