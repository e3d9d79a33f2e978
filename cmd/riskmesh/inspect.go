package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/node/apiclient"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// The read-only views of a running node's business API, one command each,
// so that an operator needs no gRPC client of its own (docs/api.md names
// the method behind each).

// apiView is a command of the business API: dial, make one call,
// print its answer as text or, with --json, as protobuf JSON. check, if
// set, turns the answer into the command's error (its exit status).
type apiView[M proto.Message] struct {
	use, short, long string
	args             cobra.PositionalArgs
	flags            func(*cobra.Command)
	call             func(context.Context, *apiclient.Client, []string) (M, error)
	text             func(io.Writer, M)
	check            func(M) error
}

func (v apiView[M]) command() *cobra.Command {
	var (
		api    apiFlags
		asJSON bool
	)
	if v.args == nil {
		v.args = cobra.NoArgs
	}
	cmd := &cobra.Command{
		Use: v.use, Short: v.short, Long: v.long, Args: v.args,
		RunE: func(cmd *cobra.Command, args []string) error {
			return api.with(func(client *apiclient.Client) error {
				m, err := v.call(cmd.Context(), client, args)
				if err != nil {
					return err
				}
				if asJSON {
					err = apiclient.WriteJSON(cmd.OutOrStdout(), m)
				} else {
					v.text(cmd.OutOrStdout(), m)
				}
				if err == nil && v.check != nil {
					err = v.check(m)
				}
				return err
			})
		},
	}
	api.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the answer as protobuf JSON")
	if v.flags != nil {
		v.flags(cmd)
	}
	return cmd
}

// newQueryListCommand is `riskmesh query list`: ListQueries, newest first.
func newQueryListCommand() *cobra.Command {
	var (
		category string
		since    time.Duration
		limit    int
	)
	return apiView[*riskmeshv1.ListQueriesResponse]{
		use:   "list [--category C] [--since 24h] [--limit N] [--json]",
		short: "list the queries this node ran, newest first",
		long: `list prints the queries this node stored (ListQueries), newest first: id, state,
category, period, identifiers, identifiers with a hit, tokens billed and when it was accepted.
'riskmesh query show ID' prints one in full.`,
		flags: func(c *cobra.Command) {
			c.Flags().StringVar(&category, "category", "", "only queries of this category")
			c.Flags().DurationVar(&since, "since", 0, "only queries accepted within this long (e.g. 24h)")
			c.Flags().IntVar(&limit, "limit", 50, "print at most this many")
		},
		call: func(ctx context.Context, c *apiclient.Client, _ []string) (*riskmeshv1.ListQueriesResponse, error) {
			if limit < 1 {
				return nil, errors.New("--limit must be at least 1")
			}
			req := &riskmeshv1.ListQueriesRequest{Category: category}
			if since > 0 {
				req.Since = timestamppb.New(time.Now().Add(-since))
			}
			qs, err := c.Queries(ctx, req, limit)
			return &riskmeshv1.ListQueriesResponse{Queries: qs}, err
		},
		text: func(w io.Writer, r *riskmeshv1.ListQueriesResponse) { apiclient.WriteQueryList(w, r.GetQueries()) },
	}.command()
}

// newQueryShowCommand is `riskmesh query show ID`: a stored query as
// GetQuery returns it, with what changed after its stream ended.
func newQueryShowCommand() *cobra.Command {
	return apiView[*riskmeshv1.QueryRecord]{
		use:   "show QUERY_ID [--json]",
		short: "print a stored query, including what late answers and reconciliation changed",
		long: `show prints a query this node ran, as it is stored now: a provider whose answer came
after the query's stream ended, whose late request was given up, or whose bill was recovered
by reconciliation says so on its line ("late answer: ..."). Identifiers are not stored, so
items are printed by index.`,
		args: cobra.ExactArgs(1),
		call: func(ctx context.Context, c *apiclient.Client, args []string) (*riskmeshv1.QueryRecord, error) {
			rec, err := c.GetQuery(ctx, &riskmeshv1.GetQueryRequest{QueryId: args[0]})
			if err != nil {
				return nil, fmt.Errorf("query %s: %w", apiclient.Text(args[0]), err)
			}
			return rec, nil
		},
		text: apiclient.WriteQueryRecord,
	}.command()
}

// newQueryFeedbackCommand is `riskmesh query feedback`: ReportOutcomes.
func newQueryFeedbackCommand() *cobra.Command {
	var (
		provider         string
		confirmed, wrong []uint
	)
	return apiView[*riskmeshv1.ReportOutcomesResponse]{
		use:   "feedback QUERY_ID --provider MSP [--confirmed I,...] [--wrong I,...] [--json]",
		short: "report what the business found about a provider's hits: confirmed or wrong, by item index",
		long: `feedback tells the node which of one provider's hits in a query turned out right
(--confirmed) or wrong (--wrong), by the item indexes "query show" prints. A later report
on an index replaces the earlier one until the period's snapshot. The node adds the reports
up into per-entry counts and submits them to the ledger itself; no identifier leaves it
(docs/quality.md).`,
		args: cobra.ExactArgs(1),
		flags: func(c *cobra.Command) {
			c.Flags().StringVar(&provider, "provider", "", "the provider whose hits these are (required)")
			c.Flags().UintSliceVar(&confirmed, "confirmed", nil, "indexes of hits the business confirmed")
			c.Flags().UintSliceVar(&wrong, "wrong", nil, "indexes of hits that turned out wrong")
			_ = c.MarkFlagRequired("provider")
		},
		call: func(ctx context.Context, c *apiclient.Client, args []string) (*riskmeshv1.ReportOutcomesResponse, error) {
			hits, err := apiclient.HitOutcomes(confirmed, wrong)
			if err != nil {
				return nil, err
			}
			resp, err := c.ReportOutcomes(ctx, &riskmeshv1.ReportOutcomesRequest{QueryId: args[0], Provider: provider, Hits: hits})
			if err != nil {
				return nil, fmt.Errorf("query %s: %w", apiclient.Text(args[0]), err)
			}
			return resp, nil
		},
		text: func(w io.Writer, r *riskmeshv1.ReportOutcomesResponse) {
			fmt.Fprintf(w, "ledger entries to update: %d (the node submits them)\n", r.GetEntries())
		},
	}.command()
}

// newNodeProvidersCommand is `riskmesh node providers`: Providers.
func newNodeProvidersCommand() *cobra.Command {
	var category string
	return apiView[*riskmeshv1.ProvidersResponse]{
		use:   "providers [--category C] [--json]",
		short: "list the providers this node queries, their prices and whether they are reachable",
		flags: func(c *cobra.Command) {
			c.Flags().StringVar(&category, "category", "", "only providers of this category")
		},
		call: func(ctx context.Context, c *apiclient.Client, _ []string) (*riskmeshv1.ProvidersResponse, error) {
			return c.Providers(ctx, &riskmeshv1.ProvidersRequest{Category: category})
		},
		text: apiclient.WriteProviders,
	}.command()
}

// newNodeCatalogsCommand is `riskmesh node catalogs`: CatalogStatus, the
// requester's downloaded catalogs per provider, category and period (a
// READY one is what a query of that period needs) and the catalogs this
// node builds as a provider.
func newNodeCatalogsCommand() *cobra.Command {
	var category string
	return apiView[*riskmeshv1.CatalogStatusResponse]{
		use:   "catalogs [--category C] [--json]",
		short: "show the catalogs this node serves and the providers' catalogs it has downloaded",
		long: `catalogs prints CatalogStatus: the catalogs this node builds and serves as a provider, and,
per provider, category and period, the catalogs it downloads as a requester. A query of a period
checks a provider only once that provider's catalog of the period is ready here.`,
		flags: func(c *cobra.Command) {
			c.Flags().StringVar(&category, "category", "", "only catalogs of this category")
		},
		call: func(ctx context.Context, c *apiclient.Client, _ []string) (*riskmeshv1.CatalogStatusResponse, error) {
			return c.CatalogStatus(ctx, &riskmeshv1.CatalogStatusRequest{Category: category})
		},
		text: apiclient.WriteCatalogs,
	}.command()
}

// newNodeBalanceCommand is `riskmesh node balance`: Balance.
func newNodeBalanceCommand() *cobra.Command {
	return apiView[*riskmeshv1.BalanceResponse]{
		use:   "balance [--json]",
		short: "show this institution's balance, limit, unsettled spend and headroom",
		call: func(ctx context.Context, c *apiclient.Client, _ []string) (*riskmeshv1.BalanceResponse, error) {
			return c.Balance(ctx, &riskmeshv1.BalanceRequest{})
		},
		text: apiclient.WriteBalance,
	}.command()
}

// newNodeHealthCommand is `riskmesh node health`: Health. Its exit status
// says whether the node serves queries, for scripts and probes.
func newNodeHealthCommand() *cobra.Command {
	return apiView[*riskmeshv1.HealthResponse]{
		use:   "health [--json]",
		short: "show the node's health per component; exit status 0 only when it is serving",
		call: func(ctx context.Context, c *apiclient.Client, _ []string) (*riskmeshv1.HealthResponse, error) {
			return c.Health(ctx, &riskmeshv1.HealthRequest{})
		},
		text: apiclient.WriteHealth,
		check: func(h *riskmeshv1.HealthResponse) error {
			if h.GetStatus() != riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING {
				return fmt.Errorf("node is %s", apiclient.HealthText(h))
			}
			return nil
		},
	}.command()
}

// newLedgerReconcileCommand is `riskmesh ledger reconcile [PERIOD]`: the
// node's reconciliation of one period's bills against its own answers.
func newLedgerReconcileCommand() *cobra.Command {
	var period uint64
	return apiView[*riskmeshv1.ReconcileReport]{
		use:   "reconcile [PERIOD] [--json]",
		short: "how this institution's bills in a period match the answers its node verified",
		long: `reconcile asks this node (admin API) how the ledger entries that bill this institution
in PERIOD (default the current one) match the answers it verified (docs/node-requester.md,
"Reconciliation"): matched, recovered from the provider, disputed for non-delivery or a bad
answer, reversed, or still pending. It takes the period as 'ledger entries' does; --period N
is the older spelling. It needs no ledger configuration: the node reconciles in the background
and reports its last pass.`,
		args: cobra.MaximumNArgs(1),
		flags: func(c *cobra.Command) {
			c.Flags().Uint64Var(&period, "period", 0, "the period to report (as the PERIOD argument)")
			c.Flags().Lookup("period").Hidden = true
		},
		call: func(ctx context.Context, c *apiclient.Client, args []string) (*riskmeshv1.ReconcileReport, error) {
			if len(args) == 1 {
				n, err := parsePeriod(args[0])
				if err != nil {
					return nil, err
				}
				if period != 0 && period != n {
					return nil, errors.New("give the period once: as PERIOD or --period")
				}
				period = n
			}
			return c.Reconcile(ctx, &riskmeshv1.ReconcileRequest{Period: period})
		},
		text: apiclient.WriteReconcile,
	}.command()
}

// newNodeTranscriptCommand is `riskmesh node transcript`: GetTranscript,
// written to a file that `riskmesh audit verify` and `riskmesh dispute`
// read.
func newNodeTranscriptCommand() *cobra.Command {
	var (
		api   apiFlags
		entry string
		out   string
	)
	cmd := &cobra.Command{
		Use:   "transcript --entry PERIOD/RESPONDER/SEQUENCE --out FILE",
		Short: "write one of this node's exchanges as a requester to a transcript file",
		Long: `transcript fetches a stored exchange (GetTranscript) in which this node was the
requester, named by its ledger entry: period, responder MSP id and sequence number (shown by
'riskmesh ledger entries' and 'riskmesh ledger reconcile'). The file holds blinded and evaluated
elements, the proof and both signatures, no identifier; check it with 'riskmesh audit verify
FILE'. An existing FILE is not replaced.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := apiclient.ParseEntry(entry)
			if err != nil {
				return fmt.Errorf("--entry %w", err)
			}
			return api.with(func(client *apiclient.Client) error {
				resp, err := client.GetTranscript(cmd.Context(), req)
				if err != nil {
					return fmt.Errorf("transcript %s: %w", entry, err)
				}
				f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return err
				}
				if _, err := f.Write(resp.GetTranscript()); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d bytes)\n", out, len(resp.GetTranscript()))
				return nil
			})
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&entry, "entry", "", "the ledger entry: PERIOD/RESPONDER/SEQUENCE (required)")
	cmd.Flags().StringVar(&out, "out", "", "the transcript file to write (required)")
	_ = cmd.MarkFlagRequired("entry")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
