package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
)

// TestLedgerQualityCommands sets a policy with `ledger set-quality` as the
// regulator, refuses it as a member, and reads it back on the period it
// opens with `ledger quality`.
func TestLedgerQualityCommands(t *testing.T) {
	store, err := accounting.OpenEmbedded(filepath.Join(t.TempDir(), "ledger.db"), accounting.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg, err := store.As(accounting.DefaultRegulator)
	if err != nil {
		t.Fatal(err)
	}
	run := func(l accounting.Ledger, args ...string) (string, error) {
		t.Helper()
		return runSubcommand(t, newLedgerQualityCommands(func() accounting.Ledger { return l }), args...)
	}
	if _, err := run(reg, "set-quality", "--tier", "9000:12000", "--tier", "0:high"); err == nil {
		t.Fatal("a malformed tier was accepted")
	}
	must := func(_ string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(run(reg, "set-quality", "--min-requesters", "4", "--window", "2", "--tier", "9000:12000", "--tier", "0:8000"))
	if err := reg.AddInstitution(t.Context(), "Bank1MSP", "Bank 1", []accounting.Role{accounting.RoleRequester}); err != nil {
		t.Fatal(err)
	}
	member, err := store.As("Bank1MSP")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run(member, "set-quality", "--tier", "0:1"); err == nil {
		t.Fatal("a member set the quality policy")
	}
	if _, err := reg.Rollover(t.Context()); err != nil {
		t.Fatal(err)
	}
	out, err := run(member, "quality", "--history", "3")
	must(out, err)
	var got accounting.QualityReport
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Period != 1 || got.Policy == nil || got.Policy.MinRequesters != 4 || got.Policy.Window != 2 ||
		len(got.Policy.Tiers) != 2 || got.Policy.Tiers[0] != (accounting.QualityTier{MinConfirmation: 9000, Multiplier: 12000}) {
		t.Fatalf("ledger quality printed %s", out)
	}
}
