package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/accounting"
)

// TestLedgerGovernanceCommands hands decisions to two of three members
// with `ledger set-governance`, passes a limit through `ledger propose`,
// `approve` (once naming the reviewed decision, once its printed digest)
// and `execute`, and shows the refusals a member meets on the way: the
// regulator's direct call, a double approval, an approval of another
// argument, an execution before the threshold.
func TestLedgerGovernanceCommands(t *testing.T) {
	store, err := accounting.OpenEmbedded(filepath.Join(t.TempDir(), "ledger.db"), accounting.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	as := func(msp string) accounting.Ledger {
		t.Helper()
		l, err := store.As(msp)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	reg := as(accounting.DefaultRegulator)
	for _, msp := range []string{"Bank1MSP", "Bank2MSP", "Bank3MSP"} {
		if err := reg.AddInstitution(t.Context(), msp, msp, []accounting.Role{accounting.RoleRequester}); err != nil {
			t.Fatal(err)
		}
	}
	run := func(l accounting.Ledger, args ...string) (string, error) {
		t.Helper()
		return runSubcommand(t, newLedgerGovernanceCommands(func() accounting.Ledger { return l }), args...)
	}
	must := func(out string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	refused := func(sentinel error, l accounting.Ledger, args ...string) {
		t.Helper()
		if _, err := run(l, args...); !errors.Is(err, sentinel) {
			t.Fatalf("%v: error %v, want %v", args, err, sentinel)
		}
	}
	b1, b2, b3 := as("Bank1MSP"), as("Bank2MSP"), as("Bank3MSP")
	refused(accounting.ErrForbidden, b1, "set-governance", "--threshold", "2")
	must(run(reg, "set-governance", "--threshold", "2"))
	var g accounting.GovernanceRule
	if err := json.Unmarshal([]byte(must(run(b3, "governance"))), &g); err != nil || g.Mode != accounting.GovernanceMembers || g.Threshold != 2 {
		t.Fatalf("governance %+v, %v", g, err)
	}
	if err := reg.SetLimit(t.Context(), "Bank3MSP", 7); !errors.Is(err, accounting.ErrForbidden) {
		t.Fatalf("the regulator's direct SetLimit under member governance: %v", err)
	}

	decision := `{"mspId":"Bank3MSP","limit":500}`
	var p accounting.Proposal
	if err := json.Unmarshal([]byte(must(run(b1, "propose", "SetLimit", decision))), &p); err != nil {
		t.Fatal(err)
	}
	if _, err := run(b1, "propose", "SetLimit", "{not json"); err == nil {
		t.Fatal("propose accepted an argument that is not JSON")
	}
	refused(accounting.ErrFailedPrecondition, b1, "execute", p.ID)
	must(run(b1, "approve", p.ID, "SetLimit", " {\"mspId\": \"Bank3MSP\", \"limit\": 500}"))
	refused(accounting.ErrConflict, b1, "approve", p.ID, "SetLimit", decision)
	refused(accounting.ErrConflict, b2, "approve", p.ID, "SetLimit", `{"mspId":"Bank3MSP","limit":501}`)
	if _, err := run(b2, "approve", p.ID); !errors.Is(err, errApproveWhat) {
		t.Fatalf("approve naming no decision: %v", err)
	}
	refused(accounting.ErrFailedPrecondition, b3, "execute", p.ID)
	must(run(b2, "approve", p.ID, "--digest", base64.StdEncoding.EncodeToString(p.Digest)))
	must(run(b3, "execute", p.ID))
	a, err := b1.Account(t.Context(), "Bank3MSP")
	if err != nil || a.Limit != 500 {
		t.Fatalf("Bank3's account after the decision: %+v, %v", a, err)
	}
	var v accounting.ProposalView
	if err := json.Unmarshal([]byte(must(run(b2, "proposal", p.ID))), &v); err != nil || !v.Proposal.Executed() || v.Counted != 2 {
		t.Fatalf("proposal %+v, %v", v, err)
	}
	var page accounting.ProposalsPage
	if err := json.Unmarshal([]byte(must(run(b2, "proposals", "--limit", "10"))), &page); err != nil || len(page.Proposals) != 1 || page.Proposals[0].ID != p.ID {
		t.Fatalf("proposals %+v, %v", page, err)
	}
}

// runSubcommand runs the command of cmds named args[0] with the rest of
// args, and returns what it printed.
func runSubcommand(t *testing.T, cmds []*cobra.Command, args ...string) (string, error) {
	t.Helper()
	for _, c := range cmds {
		if c.Name() == args[0] {
			var out bytes.Buffer
			c.SetOut(&out)
			c.SetErr(&out)
			c.SetArgs(args[1:])
			err := c.Execute()
			return out.String(), err
		}
	}
	t.Fatalf("no command %s", args[0])
	return "", nil
}
