package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// The read-only views of a running node's business API, one command each,
// so that an operator needs no gRPC client of its own (docs/api.md names
// the method behind each).

// apiView is a read-only command of the business API: dial, make one call,
// print its answer as text or, with --json, as protobuf JSON. check, if
// set, turns the answer into the command's error (its exit status).
type apiView[M proto.Message] struct {
	use, short, long string
	flags            func(*cobra.Command)
	call             func(context.Context, riskmeshv1.RiskMeshClient) (M, error)
	text             func(io.Writer, M)
	check            func(M) error
}

func (v apiView[M]) command() *cobra.Command {
	var (
		api    apiFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use: v.use, Short: v.short, Long: v.long, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, closeConn, err := api.dial()
			if err != nil {
				return err
			}
			defer closeConn()
			m, err := v.call(cmd.Context(), client)
			if err != nil {
				return err
			}
			if err := printMessage(cmd.OutOrStdout(), m, asJSON, func(w io.Writer) { v.text(w, m) }); err != nil {
				return err
			}
			if v.check != nil {
				return v.check(m)
			}
			return nil
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
		api      apiFlags
		category string
		since    time.Duration
		limit    int
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "list [--category C] [--since 24h] [--limit N] [--json]",
		Short: "list the queries this node ran, newest first",
		Long: `list prints the queries this node stored (ListQueries), newest first: id, state,
category, period, identifiers, identifiers with a hit, tokens billed and when it was accepted.
'riskmesh query show ID' prints one in full.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return errors.New("--limit must be at least 1")
			}
			client, closeConn, err := api.dial()
			if err != nil {
				return err
			}
			defer closeConn()
			req := &riskmeshv1.ListQueriesRequest{Category: category, PageSize: uint32(min(limit, 1000))}
			if since > 0 {
				req.Since = timestamppb.New(time.Now().Add(-since))
			}
			all := &riskmeshv1.ListQueriesResponse{}
			for len(all.Queries) < limit {
				page, err := client.ListQueries(cmd.Context(), req)
				if err != nil {
					return err
				}
				all.Queries = append(all.Queries, page.GetQueries()...)
				if req.PageToken = page.GetNextPageToken(); req.PageToken == "" {
					break
				}
			}
			if len(all.Queries) > limit {
				all.Queries = all.Queries[:limit]
			}
			return printMessage(cmd.OutOrStdout(), all, asJSON, func(w io.Writer) { printQueryList(w, all.Queries) })
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&category, "category", "", "only queries of this category")
	cmd.Flags().DurationVar(&since, "since", 0, "only queries accepted within this long (e.g. 24h)")
	cmd.Flags().IntVar(&limit, "limit", 50, "print at most this many")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the ListQueriesResponse as protobuf JSON")
	return cmd
}

func printQueryList(w io.Writer, qs []*riskmeshv1.QuerySummary) {
	if len(qs) == 0 {
		fmt.Fprintln(w, "no queries")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "QUERY\tSTATE\tCATEGORY\tPERIOD\tIDENTIFIERS\tHIT\tTOKENS\tACCEPTED")
	for _, q := range qs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", q.GetQueryId(),
			lowerEnum(q.GetState().String(), "QUERY_STATE_"), q.GetCategory(), q.GetPeriod(),
			q.GetIdentifiers(), q.GetHitIdentifiers(), q.GetAmount(), timeText(q.GetCreatedAt()))
	}
	tw.Flush()
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
		call: func(ctx context.Context, c riskmeshv1.RiskMeshClient) (*riskmeshv1.ProvidersResponse, error) {
			return c.Providers(ctx, &riskmeshv1.ProvidersRequest{Category: category})
		},
		text: printProviders,
	}.command()
}

func printProviders(w io.Writer, r *riskmeshv1.ProvidersResponse) {
	fmt.Fprintf(w, "period %d\n", r.GetPeriod())
	for _, c := range slices.Sorted(maps.Keys(r.GetPrices())) {
		fmt.Fprintf(w, "price %s: %d tokens per item\n", c, r.GetPrices()[c])
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tACTIVE\tREACHABLE\tCATEGORIES\tENDPOINT")
	for _, p := range r.GetProviders() {
		fmt.Fprintf(tw, "%s\t%t\t%t\t%s\t%s\n", p.GetMspId(), p.GetActive(), p.GetReachable(),
			strings.Join(p.GetCategories(), ","), remoteText(p.GetEndpoint()))
	}
	tw.Flush()
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
		call: func(ctx context.Context, c riskmeshv1.RiskMeshClient) (*riskmeshv1.CatalogStatusResponse, error) {
			return c.CatalogStatus(ctx, &riskmeshv1.CatalogStatusRequest{Category: category})
		},
		text: printCatalogs,
	}.command()
}

func printCatalogs(w io.Writer, r *riskmeshv1.CatalogStatusResponse) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SIDE\tPROVIDER\tCATEGORY\tPERIOD\tSTATE\tITEMS\tPROGRESS\tDIGEST\tERROR")
	for _, c := range r.GetLocal() {
		state := lowerEnum(c.GetState().String(), "CATALOG_STATE_")
		if c.GetServing() {
			state += ", serving"
		}
		for _, st := range c.GetStaleSources() {
			state += ", last good read of " + st.GetSource()
		}
		fmt.Fprintf(tw, "served\t-\t%s\t%d\t%s\t%d\t%s\t%s\t%s\n", c.GetCategory(), c.GetPeriod(), state, c.GetItems(),
			progressText(c.GetEntriesDone(), c.GetEntriesTotal()), shortHex(c.GetDigest()), remoteText(c.GetError()))
	}
	for _, c := range r.GetRemote() {
		fmt.Fprintf(tw, "downloaded\t%s\t%s\t%d\t%s\t%d\t%s\t%s\t%s\n", c.GetProvider(), c.GetCategory(), c.GetPeriod(),
			lowerEnum(c.GetState().String(), "CATALOG_STATE_"), c.GetItems(), progressText(c.GetBytesDone(), c.GetTotalLength()),
			shortHex(c.GetDigest()), remoteText(c.GetError()))
	}
	tw.Flush()
}

// newNodeBalanceCommand is `riskmesh node balance`: Balance.
func newNodeBalanceCommand() *cobra.Command {
	return apiView[*riskmeshv1.BalanceResponse]{
		use:   "balance [--json]",
		short: "show this institution's balance, limit, unsettled spend and headroom",
		call: func(ctx context.Context, c riskmeshv1.RiskMeshClient) (*riskmeshv1.BalanceResponse, error) {
			return c.Balance(ctx, &riskmeshv1.BalanceRequest{})
		},
		text: printBalance,
	}.command()
}

func printBalance(w io.Writer, b *riskmeshv1.BalanceResponse) {
	fmt.Fprintf(w, "%s, period %d (ledger read %s)\n", b.GetMspId(), b.GetPeriod(), timeText(b.GetLedgerAsOf()))
	fmt.Fprintf(w, "balance            %d\n", b.GetBalance())
	fmt.Fprintf(w, "overdraft limit    %d\n", b.GetOverdraftLimit())
	fmt.Fprintf(w, "unsettled spend    %d\n", b.GetUnsettledSpend())
	fmt.Fprintf(w, "unsettled earnings %d\n", b.GetUnsettledEarnings())
	fmt.Fprintf(w, "headroom           %d\n", b.GetHeadroom())
	if b.GetFlagged() {
		fmt.Fprintln(w, "flagged: past the overdraft limit; providers refuse this node's queries")
	}
}

// newNodeHealthCommand is `riskmesh node health`: Health. Its exit status
// says whether the node serves queries, for scripts and probes.
func newNodeHealthCommand() *cobra.Command {
	return apiView[*riskmeshv1.HealthResponse]{
		use:   "health [--json]",
		short: "show the node's health per component; exit status 0 only when it is serving",
		call: func(ctx context.Context, c riskmeshv1.RiskMeshClient) (*riskmeshv1.HealthResponse, error) {
			return c.Health(ctx, &riskmeshv1.HealthRequest{})
		},
		text: printHealth,
		check: func(h *riskmeshv1.HealthResponse) error {
			if h.GetStatus() != riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING {
				return fmt.Errorf("node is %s", lowerEnum(h.GetStatus().String(), "HEALTH_STATUS_"))
			}
			return nil
		},
	}.command()
}

func printHealth(w io.Writer, h *riskmeshv1.HealthResponse) {
	fmt.Fprintf(w, "%s %s, period %d, %s; %d accounting entries not yet on the ledger\n", h.GetMspId(),
		remoteText(h.GetVersion()), h.GetPeriod(), lowerEnum(h.GetStatus().String(), "HEALTH_STATUS_"), h.GetOutboxDepth())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range h.GetComponents() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.GetName(), lowerEnum(c.GetStatus().String(), "HEALTH_STATUS_"), remoteText(c.GetMessage()))
	}
	tw.Flush()
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
			req, err := parseTranscriptEntry(entry)
			if err != nil {
				return err
			}
			if out == "" {
				return errors.New("--out is required")
			}
			client, closeConn, err := api.dial()
			if err != nil {
				return err
			}
			defer closeConn()
			resp, err := client.GetTranscript(cmd.Context(), req)
			if err != nil {
				return err
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
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&entry, "entry", "", "the ledger entry: PERIOD/RESPONDER/SEQUENCE (required)")
	cmd.Flags().StringVar(&out, "out", "", "the transcript file to write (required)")
	return cmd
}

// parseTranscriptEntry reads PERIOD/RESPONDER/SEQUENCE.
func parseTranscriptEntry(s string) (*riskmeshv1.GetTranscriptRequest, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[1] == "" {
		return nil, fmt.Errorf("--entry %q: want PERIOD/RESPONDER/SEQUENCE", s)
	}
	period, err1 := strconv.ParseUint(parts[0], 10, 64)
	seq, err2 := strconv.ParseUint(parts[2], 10, 64)
	if err1 != nil || err2 != nil || period == 0 || seq == 0 {
		return nil, fmt.Errorf("--entry %q: period and sequence are positive numbers", s)
	}
	return &riskmeshv1.GetTranscriptRequest{Period: period, Responder: parts[1], Sequence: seq}, nil
}

func timeText(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}

func progressText(done, total uint64) string {
	if total == 0 {
		return "-"
	}
	return fmt.Sprintf("%d%%", done*100/total)
}

// shortHex prints a digest's first 8 bytes, enough to compare by eye.
func shortHex(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b[:min(len(b), 8)])
}
