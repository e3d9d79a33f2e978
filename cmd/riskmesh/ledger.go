package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/daemon"
)

// newLedgerCommand is the regulator's (and any institution's) window on the
// ledger, acting as the institution whose node.yaml --config names and
// reaching the ledger the way that node does: through the embedded ledger's
// relay (on the regulator, its own node's relay, which admits its own
// certificate) or through the Fabric gateway. The contract decides what the
// caller may do: only the regulator may onboard, price, and run the period
// cycle.
func newLedgerCommand() *cobra.Command {
	var (
		path   string
		ledger accounting.Ledger
		closer io.Closer
	)
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "administer and inspect the ledger as this node's institution",
		Long: `ledger calls the ledger as the institution whose node.yaml --config names, the way
that node reaches it (docs/node.md): on the regulator's node, which hosts the embedded ledger,
through that running node; otherwise through the regulator's relay or the Fabric gateway.
With the regulator's configuration it onboards institutions, sets prices and limits and runs
the period cycle: rollover, close, settle, snapshot. Reads print JSON, prices a table.
verify-log checks a copy of the embedded ledger file and needs neither configuration nor node.`,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			_, cfg, err := daemon.LoadConfig(path)
			if err != nil {
				return err
			}
			ledger, closer, err = daemon.AdminLedger(cfg)
			return err
		},
	}
	cmd.PersistentFlags().StringVar(&path, "config", "node.yaml", "the node's configuration file")

	l := func() accounting.Ledger { return ledger }
	cmd.AddCommand(
		ledgerCmd("add-institution MSP", "register an institution", 1, func(ctx context.Context, w io.Writer, args []string, f *ledgerFlags) error {
			roles := make([]accounting.Role, len(f.roles))
			for i, r := range f.roles {
				roles[i] = accounting.Role(r)
			}
			name := f.name
			if name == "" {
				name = args[0]
			}
			return l().AddInstitution(ctx, args[0], name, roles)
		}, func(c *cobra.Command, f *ledgerFlags) {
			c.Flags().StringVar(&f.name, "name", "", "display name (default the MSP id)")
			c.Flags().StringSliceVar(&f.roles, "role", []string{"requester", "provider"}, "roles: requester, provider, auditor")
		}),
		ledgerCmd("suspend MSP", "suspend an institution (peers cut it off at their next registry refresh)", 1, func(ctx context.Context, _ io.Writer, args []string, _ *ledgerFlags) error {
			return l().SuspendInstitution(ctx, args[0])
		}, nil),
		ledgerCmd("reactivate MSP", "reactivate a suspended institution", 1, func(ctx context.Context, _ io.Writer, args []string, _ *ledgerFlags) error {
			return l().ReactivateInstitution(ctx, args[0])
		}, nil),
		ledgerCmd("set-price CATEGORY TOKENS", "set the price per item of a category in a mode (from the next period)", 2, func(ctx context.Context, _ io.Writer, args []string, f *ledgerFlags) error {
			price, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil {
				return fmt.Errorf("price %q: %w", args[1], err)
			}
			return l().SetModePrice(ctx, args[0], accounting.Mode(f.mode), price)
		}, func(c *cobra.Command, f *ledgerFlags) {
			c.Flags().StringVar(&f.mode, "mode", string(accounting.ModeCatalog), "what the price applies to: catalog, live or reconcile")
		}),
		ledgerCmd("prices", "print the price per item of every category in every mode (the next period captures them)", 0, func(ctx context.Context, w io.Writer, _ []string, _ *ledgerFlags) error {
			p, err := l().Prices(ctx)
			if err != nil {
				return err
			}
			return printPrices(w, p)
		}, nil),
		ledgerCmd("set-limit MSP TOKENS", "set an institution's overdraft limit", 2, func(ctx context.Context, _ io.Writer, args []string, _ *ledgerFlags) error {
			limit, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil {
				return fmt.Errorf("limit %q: %w", args[1], err)
			}
			return l().SetLimit(ctx, args[0], limit)
		}, nil),
		ledgerCmd("rollover", "open the next period (the previous one enters its grace window)", 0, func(ctx context.Context, w io.Writer, _ []string, _ *ledgerFlags) error {
			p, err := l().Rollover(ctx)
			if err != nil {
				return err
			}
			return printJSON(w, p)
		}, nil),
		ledgerCmd("close PERIOD", "close a period in grace: no more records (refused while a provider reports entries not recorded yet, unless --force); prints the closed period, whose undrained list names the providers that never reported", 1, func(ctx context.Context, w io.Writer, args []string, f *ledgerFlags) error {
			n, err := parsePeriod(args[0])
			if err != nil {
				return err
			}
			closePeriod := l().ClosePeriod
			if f.force {
				closePeriod = l().ForceClosePeriod
			}
			if err := closePeriod(ctx, n); err != nil {
				return err
			}
			p, err := l().Period(ctx, n)
			if err != nil {
				return err
			}
			return printJSON(w, p)
		}, func(c *cobra.Command, f *ledgerFlags) {
			c.Flags().BoolVar(&f.force, "force", false, "close even though providers report entries not recorded yet (kept in the period's undrained list)")
		}),
		ledgerCmd("backlog PERIOD", "print the providers' reports of the period's entries their journals still hold", 1, func(ctx context.Context, w io.Writer, args []string, _ *ledgerFlags) error {
			n, err := parsePeriod(args[0])
			if err != nil {
				return err
			}
			b, err := l().Backlogs(ctx, n)
			if err != nil {
				return err
			}
			return printJSON(w, b)
		}, nil),
		ledgerCmd("mark-paid PERIOD", "record that a snapshot's balances were paid, lifting the flag it left on debtors past their limit", 1, func(ctx context.Context, w io.Writer, args []string, _ *ledgerFlags) error {
			n, err := parsePeriod(args[0])
			if err != nil {
				return err
			}
			s, err := l().MarkPaid(ctx, n)
			if err != nil {
				return err
			}
			return printJSON(w, s)
		}, nil),
		ledgerCmd("settle PERIOD", "settle a closed period into balances (all steps)", 1, func(ctx context.Context, w io.Writer, args []string, f *ledgerFlags) error {
			n, err := parsePeriod(args[0])
			if err != nil {
				return err
			}
			r, err := accounting.SettleAll(ctx, l(), n, f.maxEntries)
			if err != nil {
				return err
			}
			return printJSON(w, r)
		}, func(c *cobra.Command, f *ledgerFlags) {
			c.Flags().IntVar(&f.maxEntries, "max-entries", 0, "entries per settle transaction (0: the contract's default)")
		}),
		ledgerCmd("snapshot PERIOD", "record all balances for money settlement and net them to zero", 1, func(ctx context.Context, w io.Writer, args []string, _ *ledgerFlags) error {
			n, err := parsePeriod(args[0])
			if err != nil {
				return err
			}
			s, err := l().TakeSnapshot(ctx, n)
			if err != nil {
				return err
			}
			return printJSON(w, s)
		}, nil),
		ledgerCmd("balances", "print every account", 0, func(ctx context.Context, w io.Writer, _ []string, _ *ledgerFlags) error {
			a, err := l().Accounts(ctx)
			if err != nil {
				return err
			}
			return printJSON(w, a)
		}, nil),
		ledgerCmd("exposures", "print every institution's exposure: settled balance, limit, unsettled spend, headroom", 0, func(ctx context.Context, w io.Writer, _ []string, _ *ledgerFlags) error {
			x, err := l().Exposures(ctx)
			if err != nil {
				return err
			}
			return printJSON(w, x)
		}, nil),
		ledgerCmd("institutions", "print the registry", 0, func(ctx context.Context, w io.Writer, _ []string, _ *ledgerFlags) error {
			r, err := l().Institutions(ctx)
			if err != nil {
				return err
			}
			return printJSON(w, accounting.InstitutionViews(r))
		}, nil),
		ledgerCmd("catalog PROVIDER CATEGORY PERIOD", "print a published catalog: its digest and the OPRF key it was built under", 3, func(ctx context.Context, w io.Writer, args []string, _ *ledgerFlags) error {
			n, err := parsePeriod(args[2])
			if err != nil {
				return err
			}
			c, err := l().Catalog(ctx, args[0], args[1], n)
			if err != nil {
				return err
			}
			return printJSON(w, accounting.NewCatalogView(c))
		}, nil),
		ledgerCmd("period [N]", "print a period (default the current one)", -1, func(ctx context.Context, w io.Writer, args []string, _ *ledgerFlags) error {
			var n uint64
			if len(args) == 1 {
				var err error
				if n, err = parsePeriod(args[0]); err != nil {
					return err
				}
			}
			p, err := l().Period(ctx, n)
			if err != nil {
				return err
			}
			return printJSON(w, p)
		}, nil),
		ledgerCmd("entries PERIOD", "print a period's accounting entries (every requester's, or --party's)", 1, func(ctx context.Context, w io.Writer, args []string, f *ledgerFlags) error {
			n, err := parsePeriod(args[0])
			if err != nil {
				return err
			}
			entries, err := accounting.PeriodEntries(ctx, l(), n, f.party, f.asResponder)
			if err != nil {
				return err
			}
			return printJSON(w, entries)
		}, func(c *cobra.Command, f *ledgerFlags) {
			c.Flags().StringVar(&f.party, "party", "", "only this institution's entries")
			c.Flags().BoolVar(&f.asResponder, "as-responder", false, "entries the party answered instead of asked")
		}),
	)
	cmd.AddCommand(newLedgerQualityCommands(l)...)
	// Close the connection whether the call succeeded or not (cobra skips
	// post-run hooks after an error): a connection left open holds one of
	// the host's few connections per certificate until it idles out.
	for _, sub := range cmd.Commands() {
		run := sub.RunE
		sub.RunE = func(cmd *cobra.Command, args []string) error {
			return errors.Join(run(cmd, args), closer.Close())
		}
	}
	// verify-log reads a file and reaches no ledger.
	cmd.AddCommand(newLedgerVerifyLogCommand())
	// reconcile asks the node, not the ledger.
	reconcile := newLedgerReconcileCommand()
	reconcile.PersistentPreRunE = func(*cobra.Command, []string) error { return nil }
	cmd.AddCommand(reconcile)
	return cmd
}

// ledgerFlags holds the flags of the ledger subcommands.
type ledgerFlags struct {
	name        string
	roles       []string
	maxEntries  int
	party       string
	asResponder bool
	force       bool
	mode        string
}

// ledgerCmd builds one ledger subcommand taking nargs arguments (-1: at
// most one).
func ledgerCmd(use, short string, nargs int, run func(context.Context, io.Writer, []string, *ledgerFlags) error, flags func(*cobra.Command, *ledgerFlags)) *cobra.Command {
	f := new(ledgerFlags)
	args := cobra.ExactArgs(nargs)
	if nargs < 0 {
		args = cobra.MaximumNArgs(1)
	}
	c := &cobra.Command{
		Use: use, Short: short, Args: args,
		RunE: func(cmd *cobra.Command, a []string) error { return run(cmd.Context(), cmd.OutOrStdout(), a, f) },
	}
	if flags != nil {
		flags(c, f)
	}
	return c
}

func parsePeriod(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("period %q: want a period number from 1", s)
	}
	return n, nil
}

// printPrices prints one row per priced category and mode, by category
// then mode.
func printPrices(w io.Writer, p *accounting.PriceList) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CATEGORY\tMODE\tTOKENS PER ITEM")
	categories := slices.Collect(maps.Keys(p.Prices))
	for _, m := range p.ModePrices {
		categories = slices.AppendSeq(categories, maps.Keys(m))
	}
	slices.Sort(categories)
	for _, c := range slices.Compact(categories) {
		for _, m := range accounting.Modes {
			if price, ok := p.Base(c, m); ok {
				fmt.Fprintf(tw, "%s\t%s\t%d\n", c, m, price)
			}
		}
	}
	return tw.Flush()
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
