package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// newQueryShowCommand is `riskmesh query show ID`: a stored query as
// GetQuery returns it, with what changed after its stream ended.
func newQueryShowCommand() *cobra.Command {
	var (
		api    apiFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "show QUERY_ID [--json]",
		Short: "print a stored query, including what late answers and reconciliation changed",
		Long: `show prints a query this node ran, as it is stored now: a provider whose answer came
after the query's stream ended, whose late request was given up, or whose bill was recovered
by reconciliation says so on its line ("late answer: ..."). Identifiers are not stored, so
items are printed by index.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, closeConn, err := api.dial()
			if err != nil {
				return err
			}
			defer closeConn()
			rec, err := client.GetQuery(cmd.Context(), &riskmeshv1.GetQueryRequest{QueryId: args[0]})
			if err != nil {
				return err
			}
			return printMessage(cmd.OutOrStdout(), rec, asJSON, func(w io.Writer) {
				fmt.Fprintf(w, "state %s, period %d\n", lowerEnum(rec.GetState().String(), "QUERY_STATE_"), rec.GetPeriod())
				printResult(w, nil, rec.GetResult())
			})
		},
	}
	api.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the QueryRecord as protobuf JSON")
	return cmd
}

// lateText says how a provider's part changed after the query's stream
// ended, or "" if it did not.
func lateText(p *riskmeshv1.ProviderResult) string {
	c := p.GetLateChange()
	if c == nil {
		return ""
	}
	was := fmt.Sprintf("was %s, %d tokens", lowerEnum(c.GetPreviousStatus().String(), "PROVIDER_STATUS_"), c.GetPreviousAmount())
	switch c.GetSource() {
	case riskmeshv1.LateSource_LATE_SOURCE_LATE_ANSWER:
		return "late answer: " + was + " when the query ended"
	case riskmeshv1.LateSource_LATE_SOURCE_GIVEN_UP:
		return "late answer: none came; " + was + " when the query ended, still unbilled"
	case riskmeshv1.LateSource_LATE_SOURCE_RECONCILED:
		return "late answer: recovered by reconciliation, " + was + " when the query ended; the bill stands, hits unknown"
	}
	return "late answer: " + was + " when the query ended"
}

func lowerEnum(s, prefix string) string { return strings.ToLower(strings.TrimPrefix(s, prefix)) }

// newLedgerReconcileCommand is `riskmesh ledger reconcile`: the node's
// reconciliation of one period's bills against its own answers.
func newLedgerReconcileCommand() *cobra.Command {
	var (
		api    apiFlags
		period uint64
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "reconcile [--period N] [--json]",
		Short: "how this institution's bills in a period match the answers its node verified",
		Long: `reconcile asks this node (admin API) how the ledger entries that bill this institution
in a period match the answers it verified (docs/node-requester.md, "Reconciliation"):
matched, recovered from the provider, disputed for non-delivery or a bad answer, reversed,
or still pending. --period 0 (the default) is the current period. It needs no ledger
configuration: the node reconciles in the background and reports its last pass.`,
		Args: cobra.NoArgs,
		// The node answers from its own state: no ledger connection.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, closeConn, err := api.dial()
			if err != nil {
				return err
			}
			defer closeConn()
			rep, err := client.Reconcile(cmd.Context(), &riskmeshv1.ReconcileRequest{Period: period})
			if err != nil {
				return err
			}
			return printMessage(cmd.OutOrStdout(), rep, asJSON, func(w io.Writer) { printReconcile(w, rep) })
		},
	}
	api.register(cmd)
	cmd.Flags().Uint64Var(&period, "period", 0, "the period to report (0: the current one)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the ReconcileReport as protobuf JSON")
	return cmd
}

func printReconcile(w io.Writer, r *riskmeshv1.ReconcileReport) {
	fmt.Fprintf(w, "period %d: %d entries billed, %d tokens\n", r.GetPeriod(), len(r.GetEntries()), r.GetBilled())
	fmt.Fprintf(w, "matched %d, recovered %d, disputed %d, reversed %d (%d tokens), pending %d\n",
		r.GetMatched(), r.GetRecovered(), r.GetDisputed(), r.GetReversed(), r.GetReversedAmount(), r.GetPending())
	if r.GetLastPass() == nil {
		fmt.Fprintln(w, "the node has not reconciled this period yet")
	}
	for _, e := range r.GetEntries() {
		if e.GetState() == riskmeshv1.ReconcileState_RECONCILE_STATE_MATCHED {
			continue
		}
		k := e.GetKey()
		line := fmt.Sprintf("%s sequence %d: %s, %d tokens", k.GetResponder(), k.GetSequence(),
			lowerEnum(e.GetState().String(), "RECONCILE_STATE_"), e.GetAmount())
		if e.GetNote() != "" {
			line += " (" + e.GetNote() + ")"
		}
		fmt.Fprintln(w, line)
	}
}

// printMessage writes m as protobuf JSON, or as text.
func printMessage(w io.Writer, m proto.Message, asJSON bool, text func(io.Writer)) error {
	if !asJSON {
		text(w)
		return nil
	}
	b, err := protojson.MarshalOptions{Multiline: true}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
