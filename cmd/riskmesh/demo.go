package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/localnet"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// The demo's consortium: synth's default institutions, the smallest of
// which (a consumer lender) queries the two banks' black lists.
const (
	demoRequester = "Lender3MSP"
	// demoRogue is the provider the dispute scene restarts as a
	// misbehaving one.
	demoRogue    = "Bank2MSP"
	demoCategory = synth.Black
	demoBatch    = 1000
	// demoMinScale keeps enough black-listed entries for the planted hits.
	demoMinScale = 1000
	// demoShownHits bounds the rows of the result table; every hit is
	// checked whatever is shown.
	demoShownHits = 15
	// demoMaxEvents bounds the events read from a query's stream: one
	// accepted, one per provider, the result.
	demoMaxEvents = 1 << 12
	// demoQueryFile holds the batch for riskmesh query --file.
	demoQueryFile = "query.txt"
	// demoMaxSettleSteps bounds the settle loop of the demo's one period.
	demoMaxSettleSteps = 1 << 16
)

// demoPrices are the tokens per queried identifier of each category.
var demoPrices = map[string]int64{"black": 3, "grey": 2, "yellow": 1}

// demoFormat is the list format of the i-th institution in synth's default
// order, alternating so both file kinds are read: a CSV export, an NDJSON
// feed, a CSV export.
func demoFormat(i int) string {
	if i%2 == 1 {
		return config.KindNDJSON
	}
	return config.KindCSV
}

type demoFlags struct {
	dir    string
	scale  int
	keep   bool
	asJSON bool
	seed   uint64
}

func newDemoCommand() *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo [--dir DIR] [--scale N] [--keep] [--json] [--seed S]",
		Short: "run a regulator and three institutions on loopback and query them",
		Long: `demo generates synthetic risk lists (N entries in all, typed identifiers, black, grey
and yellow categories, overlapping between institutions), starts a regulator and three
institutions as separate riskmesh node processes on loopback QUIC with the embedded ledger,
waits for the catalogs, runs a one-to-many query with planted hits and checks every answer
against the expected one, then shows the accounting entries and runs the period cycle:
rollover, close, settle, snapshot, with each institution's balance before and after.
It exits non-zero when an answer or a balance is not what it must be (docs/demo.md).

--keep leaves the network running until Ctrl-C, for riskmesh query and riskmesh ledger.
--json prints a machine-readable summary on standard output (the narrative goes to
standard error).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			out := cmd.OutOrStdout()
			if f.asJSON {
				out = cmd.ErrOrStderr()
			}
			d := &demo{flags: f, out: out, tty: isTerminal(out), summary: demoSummary{Scale: f.scale, Seed: f.seed}}
			err := d.run(ctx)
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				err = errors.New("demo interrupted; every node was stopped")
			}
			if f.asJSON {
				d.summary.OK = err == nil
				if err != nil {
					d.summary.Error = err.Error()
				}
				if jerr := printJSON(cmd.OutOrStdout(), d.summary); jerr != nil && err == nil {
					err = jerr
				}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&f.dir, "dir", "", "directory for the lists and the nodes (must be new or empty; default a temporary one, removed after a clean run)")
	cmd.Flags().IntVar(&f.scale, "scale", synth.DefaultEntries, "list entries over all institutions")
	cmd.Flags().BoolVar(&f.keep, "keep", false, "leave the network running until Ctrl-C")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print a machine-readable summary on standard output")
	cmd.Flags().Uint64Var(&f.seed, "seed", 1, "seed of the synthetic lists and the query batch")
	return cmd
}

// demoSummary is what --json prints.
type demoSummary struct {
	OK        bool   `json:"ok"`
	Error     string `json:"error,omitempty"`
	Dir       string `json:"dir"`
	Scale     int    `json:"scale"`
	Seed      uint64 `json:"seed"`
	Requester string `json:"requester"`
	Category  string `json:"category"`
	Batch     int    `json:"batch"`
	// Hits and Expected count the identifiers with at least one hit, as
	// answered and as planted; Checked is true when every item's hits and
	// labels matched the expectation.
	Hits     int  `json:"hits"`
	Expected int  `json:"expected"`
	Checked  bool `json:"checked"`
	// Audited is the number of answers whose transcripts passed every
	// audit check (and an altered copy failed).
	Audited int `json:"audited"`
	// Rotated names the institutions whose signing keys the rotation scene
	// replaced; ReAudited counts the earlier transcripts that still passed
	// every check afterwards.
	Rotated   []string `json:"rotated"`
	ReAudited int      `json:"re_audited"`
	// Amount is what the query cost the requester, in tokens.
	Amount int64 `json:"amount"`
	// Entries are the period's entries: the query's, then the disputed
	// one, reversed.
	Entries []summaryEntry `json:"entries"`
	// Dispute is the dispute scene's outcome.
	Dispute *summaryDispute `json:"dispute,omitempty"`
	// Claim is the rejected dispute of an honest answer.
	Claim *summaryClaim `json:"claim,omitempty"`
	// BalancesBefore are after settlement, before the snapshot; Snapshot
	// is what the snapshot recorded; BalancesAfter are after it.
	BalancesBefore map[string]int64 `json:"balances_before"`
	Snapshot       map[string]int64 `json:"snapshot"`
	BalancesAfter  map[string]int64 `json:"balances_after"`
	// TimingsMS are the steps' wall-clock durations in milliseconds.
	TimingsMS map[string]int64 `json:"timings_ms"`
}

type summaryEntry struct {
	Requester string `json:"requester"`
	Responder string `json:"responder"`
	Category  string `json:"category"`
	Items     uint32 `json:"items"`
	Amount    int64  `json:"amount"`
	// Reversed names the auditor that reversed the entry's charge, empty
	// if it stands.
	Reversed string `json:"reversed,omitempty"`
}

// summaryDispute is the dispute scene's outcome: the misbehaving
// provider's part of the query as the requester saw it, and the dispute as
// GetQuery reports it once the requester's node acted on the verdict.
type summaryDispute struct {
	Provider string `json:"provider"`
	// Status is the provider's part of the query ("DISPUTED"); State the
	// dispute's ("REVERSED").
	Status string `json:"status"`
	State  string `json:"state"`
	// Items and Amount are what the provider billed, then saw reversed.
	Items  uint32 `json:"items"`
	Amount int64  `json:"amount"`
	// Auditor upheld the dispute; Reversed counts the ledger entries whose
	// charge it reversed.
	Auditor  string `json:"auditor"`
	Reversed int    `json:"reversed"`
}

// summaryClaim is the claim scene's outcome: the entry disputed, the
// auditor's verdict and whether the charge still stands on the ledger.
type summaryClaim struct {
	Responder string `json:"responder"`
	Sequence  uint64 `json:"sequence"`
	Verdict   string `json:"verdict"`
	Stands    bool   `json:"stands"`
}

// demo is one run of the demo command.
type demo struct {
	flags   demoFlags
	out     io.Writer
	tty     bool
	summary demoSummary
	net     *localnet.Network
	// listed counts each institution's entries in the queried category:
	// the total of its first catalog build, which the node cannot know
	// before reading its lists.
	listed map[string]uint64
	// recorded are the query's accounting entries on the ledger.
	recorded []accounting.RecordedEntry
}

func (d *demo) run(ctx context.Context) (err error) {
	if d.flags.scale < demoMinScale || d.flags.scale > synth.MaxEntries {
		return fmt.Errorf("--scale %d: want %d to %d entries", d.flags.scale, demoMinScale, synth.MaxEntries)
	}
	start := time.Now()
	d.summary.TimingsMS = map[string]int64{}
	dir, temporary, err := demoDir(d.flags.dir)
	if err != nil {
		return err
	}
	d.summary.Dir = dir
	defer func() {
		if d.net != nil {
			if serr := d.net.Stop(); serr != nil {
				err = errors.Join(err, fmt.Errorf("stop the network: %w", serr))
			}
		}
		if err == nil && temporary && !d.flags.keep {
			err = os.RemoveAll(dir)
		} else {
			fmt.Fprintf(d.out, "\nfiles and node logs are in %s\n", dir)
		}
	}()

	cons, batch, err := d.generate(dir)
	if err != nil {
		return err
	}
	if err := d.startNetwork(ctx, dir, cons); err != nil {
		return err
	}
	if err := d.waitCatalogs(ctx, 1, "catalogs"); err != nil {
		return err
	}
	res, err := d.query(ctx, batch)
	if err != nil {
		return err
	}
	if err := d.entries(ctx, res.GetAmount()); err != nil {
		return err
	}
	if err := d.audit(ctx); err != nil {
		return err
	}
	if err := d.rotate(ctx); err != nil {
		return err
	}
	if err := d.dispute(ctx, batch); err != nil {
		return err
	}
	if err := d.claim(ctx); err != nil {
		return err
	}
	if err := d.periodCycle(ctx); err != nil {
		return err
	}
	d.summary.TimingsMS["total"] = time.Since(start).Milliseconds()
	fmt.Fprintf(d.out, "\ndemo passed in %s: every answer as planted, the bad one reversed, balances netted to zero\n", time.Since(start).Round(100*time.Millisecond))
	if d.flags.keep {
		return d.keep(ctx, dir)
	}
	return nil
}

// demoDir returns the demo's directory as an absolute path (the nodes'
// configurations name the list files in it): dir, which must be new or
// empty, or a new temporary one.
func demoDir(dir string) (string, bool, error) {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "riskmesh-demo-")
		if err != nil {
			return "", false, err
		}
		tmp, err = filepath.Abs(tmp)
		return tmp, true, err
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false, err
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return dir, false, os.MkdirAll(dir, 0o700)
	case err != nil:
		return "", false, err
	case len(entries) > 0:
		return "", false, fmt.Errorf("--dir %s is not empty", dir)
	}
	return dir, false, nil
}

// step prints a step's heading and records its duration under name when
// done is called.
func (d *demo) step(name, heading string) (done func()) {
	fmt.Fprintf(d.out, "\n== %s\n", heading)
	start := time.Now()
	return func() {
		d.summary.TimingsMS[name] = time.Since(start).Milliseconds()
		fmt.Fprintf(d.out, "   (%s)\n", time.Since(start).Round(10*time.Millisecond))
	}
}

// generate makes the lists, writes them as each institution's source file
// and draws the query batch with its planted hits.
func (d *demo) generate(dir string) (*synth.Consortium, *synth.Batch, error) {
	done := d.step("generate", fmt.Sprintf("generating %d synthetic list entries (seed %d)", d.flags.scale, d.flags.seed))
	cons, err := synth.Generate(synth.Config{Seed: d.flags.seed, Entries: d.flags.scale})
	if err != nil {
		return nil, nil, err
	}
	listDir := filepath.Join(dir, "lists")
	if err := os.MkdirAll(listDir, 0o700); err != nil {
		return nil, nil, err
	}
	d.listed = map[string]uint64{}
	for i, l := range cons.Lists {
		for _, e := range l.Entries {
			if synth.Category(e.Label.Category) == demoCategory {
				d.listed[l.MSPID]++
			}
		}
		path := listPath(listDir, l.MSPID, demoFormat(i))
		if err := writeList(path, demoFormat(i), l); err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(d.out, "   %-11s %8d entries  %s\n", l.MSPID, len(l.Entries), path)
	}
	// Small lists hold few black entries, fewer still on two lists.
	hits := min(30, d.flags.scale/100)
	batch, err := cons.Batch(synth.BatchConfig{
		Seed: d.flags.seed, Category: demoCategory, Size: demoBatch,
		Hits: hits, MultiHits: hits / 6, OtherCategory: min(20, hits), Invalid: 5, Duplicates: 5,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("query batch: %w", err)
	}
	if err := writeQueryFile(filepath.Join(dir, demoQueryFile), batch); err != nil {
		return nil, nil, err
	}
	done()
	return cons, batch, nil
}

// writeQueryFile writes the batch's valid identifiers, one TYPE:VALUE a
// line, for riskmesh query --file on a kept network.
func writeQueryFile(path string, b *synth.Batch) error {
	var sb strings.Builder
	for _, it := range b.Items {
		if it.Invalid == nil {
			sb.WriteString(it.ID.String() + "\n")
		}
	}
	return os.WriteFile(path, []byte(sb.String()), 0o600)
}

func listPath(dir, msp, kind string) string {
	return filepath.Join(dir, strings.ToLower(strings.TrimSuffix(msp, "MSP"))+"."+kind)
}

// writeList writes l in kind's format.
func writeList(path, kind string, l synth.List) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	write := synth.WriteCSV
	if kind == config.KindNDJSON {
		write = synth.WriteNDJSON
	}
	if err := write(f, l); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// startNetwork starts the regulator and one node per list, each providing
// the categories its list holds.
func (d *demo) startNetwork(ctx context.Context, dir string, cons *synth.Consortium) error {
	done := d.step("start", "starting the regulator (also the auditor) and three institutions (separate processes, loopback QUIC)")
	m := synth.Mapping()
	mapping := &config.Mapping{ID: m.ID, Type: m.Type, Category: m.Category, Reason: m.Reason, Listed: m.Listed, Reference: m.Reference}
	var members []localnet.Member
	for i, inst := range synth.DefaultInstitutions() {
		member := localnet.Member{MSPID: inst.MSPID}
		for _, c := range synth.Categories {
			if inst.Categories[c] == 0 {
				continue
			}
			member.Categories = append(member.Categories, c.String())
			member.Sources = append(member.Sources, config.Source{
				Name: c.String() + "-list", Category: c.String(), Code: int(c), Kind: demoFormat(i),
				Path: listPath(filepath.Join(dir, "lists"), cons.Lists[i].MSPID, demoFormat(i)), Mapping: mapping,
			})
		}
		members = append(members, member)
	}
	net, err := localnet.Start(ctx, localnet.Config{
		Dir:      filepath.Join(dir, "nodes"),
		Members:  members,
		Prices:   demoPrices,
		Auditor:  true,
		Progress: func(s string) { fmt.Fprintf(d.out, "   %s\n", s) },
	})
	if err != nil {
		return err
	}
	d.net = net
	done()
	return nil
}

// waitCatalogs shows the providers' builds of period's catalogs and the
// requester's downloads until the requester can query; timing names the
// step's duration in the summary.
func (d *demo) waitCatalogs(ctx context.Context, period uint64, timing string) error {
	done := d.step(timing, fmt.Sprintf("building period %d's %s catalogs and downloading them to %s", period, demoCategory, demoRequester))
	bars := newProgress(d.out, d.tty)
	err := d.net.WaitCatalogs(ctx, demoRequester, demoCategory.String(), period, func(ps []localnet.CatalogProgress) {
		for _, p := range ps {
			switch {
			case p.Ready:
				bars.update(p.Provider, "ready", 1, 1)
			case p.Published:
				bars.update(p.Provider, "download", p.Downloaded, p.ToDownload)
			case p.ToBuild == 0:
				bars.update(p.Provider, "build", p.Built, d.listed[p.Provider])
			default:
				bars.update(p.Provider, "build", p.Built, p.ToBuild)
			}
		}
		bars.flush()
	})
	bars.end()
	if err != nil {
		return err
	}
	done()
	return nil
}

// query runs the batch from the requester's node, prints the merged hits
// and checks them against the planted ones.
func (d *demo) query(ctx context.Context, batch *synth.Batch) (*riskmeshv1.QueryResult, error) {
	done := d.step("query", fmt.Sprintf("%s queries %d identifiers (%d planted hits, invalid and duplicate items among them) against every %s list",
		demoRequester, len(batch.Items), countExpected(batch), demoCategory))
	client, err := d.net.Client(demoRequester)
	if err != nil {
		return nil, err
	}
	res, err := runQuery(ctx, client, batch.Request())
	if err != nil {
		return nil, err
	}
	d.summary.Requester, d.summary.Category, d.summary.Batch = demoRequester, demoCategory.String(), len(batch.Items)
	d.summary.Expected, d.summary.Amount = countExpected(batch), res.GetAmount()
	for _, it := range res.GetItems() {
		if len(it.GetHits()) > 0 {
			d.summary.Hits++
		}
	}
	printHits(d.out, batch, res)
	for _, p := range res.GetProviders() {
		fmt.Fprintf(d.out, "   %-11s %s, %d items billed, %d tokens\n", p.GetProvider(),
			strings.ToLower(providerWord(p.GetStatus())), p.GetItems(), p.GetAmount())
		if p.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
			return nil, fmt.Errorf("provider %s did not answer: %v", p.GetProvider(), p.GetStatus())
		}
	}
	if err := batch.Check(res); err != nil {
		return nil, err
	}
	d.summary.Checked = true
	fmt.Fprintf(d.out, "   checked: %d of %d identifiers hit, exactly the planted ones, with their labels\n", d.summary.Hits, len(batch.Items))
	done()
	return res, nil
}

// countExpected is the number of batch items listed in the batch's
// category by some institution other than the requester, which does not
// query itself.
func countExpected(b *synth.Batch) int {
	n := 0
	for _, it := range b.Items {
		if slices.ContainsFunc(it.Hits, func(h synth.Hit) bool { return h.Provider != demoRequester }) {
			n++
		}
	}
	return n
}

// runQuery sends req and returns its final result.
func runQuery(ctx context.Context, c riskmeshv1.RiskMeshClient, req *riskmeshv1.QueryRequest) (*riskmeshv1.QueryResult, error) {
	_, r, err := runQueryID(ctx, c, req)
	return r, err
}

// runQueryID is runQuery that also returns the query's id, for GetQuery.
func runQueryID(ctx context.Context, c riskmeshv1.RiskMeshClient, req *riskmeshv1.QueryRequest) (string, *riskmeshv1.QueryResult, error) {
	stream, err := c.Query(ctx, req)
	if err != nil {
		return "", nil, fmt.Errorf("query: %w", err)
	}
	id := ""
	for range demoMaxEvents {
		ev, err := stream.Recv()
		if err != nil {
			return "", nil, fmt.Errorf("query: %w", err)
		}
		if a := ev.GetAccepted(); a != nil {
			id = a.GetQueryId()
		}
		if r := ev.GetResult(); r != nil {
			return id, r, nil
		}
	}
	return "", nil, fmt.Errorf("query: no result in %d events", demoMaxEvents)
}

// printHits prints the merged hits as a table: one row per provider's
// listing, identifiers masked.
func printHits(w io.Writer, b *synth.Batch, res *riskmeshv1.QueryResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "   #\tidentifier\tprovider\tcategory\treason\tlisted")
	shown, total := 0, 0
	for _, it := range res.GetItems() {
		if len(it.GetHits()) == 0 {
			continue
		}
		total++
		if shown == demoShownHits {
			continue
		}
		shown++
		item := b.Items[it.GetIndex()]
		id := string(item.Type) + ":" + maskIdentifier(item.ID.Value)
		for i, h := range it.GetHits() {
			l := h.GetLabel()
			if i > 0 {
				id = ""
			}
			fmt.Fprintf(tw, "   %d\t%s\t%s\t%s\t%s\t%s\n", it.GetIndex(), id, h.GetProvider(),
				synth.Category(l.GetCategoryCode()), reasonText(l.GetReasonCode()), l.GetListedDate())
		}
	}
	tw.Flush()
	if total > shown {
		fmt.Fprintf(w, "   ... and %d more identifiers with hits (all checked)\n", total-shown)
	}
}

// reasonText is a reason code's description from synth's table.
func reasonText(code uint32) string {
	if t := synth.ReasonText(uint16(code)); code <= 0xffff && t != "" {
		return t
	}
	return fmt.Sprintf("reason %d", code)
}

// maskIdentifier hides the middle of an identifier: enough is shown to
// tell rows apart, not to recover the value.
func maskIdentifier(v string) string {
	r := []rune(v)
	if len(r) < 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-5) + string(r[len(r)-2:])
}

// entries waits until the providers' accounting entries for the query are
// on the ledger and prints them.
func (d *demo) entries(ctx context.Context, amount int64) error {
	done := d.step("entries", "accounting entries on the ledger (period 1), submitted by each provider and signed by both sides")
	var entries []accounting.RecordedEntry
	err := d.net.Wait(ctx, "the query's accounting entries", func() error {
		var err error
		if entries, err = d.net.Entries(ctx, 1); err != nil {
			return err
		}
		var sum int64
		for _, e := range entries {
			sum += e.Amount
		}
		if sum != amount {
			return fmt.Errorf("entries for %d of %d tokens so far", sum, amount)
		}
		return nil
	})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "   requester\tresponder\tcategory\titems\ttokens")
	for _, e := range entries {
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%d\t%d\n", e.Key.Requester, e.Key.Responder, e.Category, e.Count, e.Amount)
		d.summary.Entries = append(d.summary.Entries, summaryEntry{
			Requester: e.Key.Requester, Responder: e.Key.Responder, Category: e.Category, Items: e.Count, Amount: e.Amount,
		})
	}
	tw.Flush()
	d.recorded = entries
	done()
	return nil
}

// audit verifies each provider's transcript of the query against the
// ledger as an auditor would (docs/audit.md), then a copy altered after the
// fact: the honest answers pass every check and leave nothing to dispute;
// the altered copy fails the checks that bind it to the billed exchange, so
// a dispute built on it is rejected.
func (d *demo) audit(ctx context.Context) error {
	done := d.step("audit", "audit: each answer's transcript checked against its ledger entry")
	client, err := d.net.Client(demoRequester)
	if err != nil {
		return err
	}
	var last *transcript.Transcript
	for _, e := range d.recorded {
		resp, err := client.GetTranscript(ctx, &riskmeshv1.GetTranscriptRequest{Period: e.Key.Period, Responder: e.Key.Responder, Sequence: e.Key.Sequence})
		if err != nil {
			return fmt.Errorf("transcript of %s's answer: %w", e.Key.Responder, err)
		}
		tr, err := transcript.Parse(resp.GetTranscript())
		if err != nil {
			return fmt.Errorf("transcript of %s's answer: %w", e.Key.Responder, err)
		}
		r, err := audit.Verify(ctx, tr, d.net.Admin())
		if err != nil {
			return err
		}
		dec := audit.Decide(r)
		if !r.OK() || dec.Verdict == accounting.VerdictUpheld {
			return fmt.Errorf("%s's honest answer fails the audit: %v", e.Key.Responder, r.Failed())
		}
		fmt.Fprintf(d.out, "   %s's answer: all %d checks pass (%s); a dispute of it would be rejected\n", e.Key.Responder, len(r.Checks), checkNames(r))
		last = tr
	}
	if last == nil || len(last.Response.Evaluated) == 0 {
		return errors.New("audit: no transcript to alter")
	}
	// One evaluated element replaced by the blinded one it answers: a valid
	// group element, but not the provider's evaluation.
	last.Response.Evaluated[0] = slices.Clone(last.Request.Elements[0])
	r, err := audit.Verify(ctx, last, d.net.Admin())
	if err != nil {
		return err
	}
	dec := audit.Decide(r)
	if r.OK() || dec.Verdict == accounting.VerdictUpheld {
		return errors.New("audit: an altered transcript passed")
	}
	fmt.Fprintf(d.out, "   %s's transcript with one answer element altered afterwards: %s fail; a dispute built on it is rejected (%s)\n",
		last.Header.Responder, strings.Join(r.Failed(), ", "), dec.Reason)
	d.summary.Audited = len(d.recorded)
	done()
	return nil
}

// rotate is the key rotation scene: the requester and one provider that
// answered replace their transcript-signing keys on the running network
// (RotateKeys, what `riskmesh keys rotate signing` calls), and the query's
// transcripts, signed under the replaced keys, are audited again: the
// ledger keeps a replaced key valid for the periods it covered. The
// dispute scene's query then runs under the new keys.
func (d *demo) rotate(ctx context.Context) error {
	done := d.step("keys", "key rotation: signing keys replaced on the running network")
	if len(d.recorded) == 0 {
		return errors.New("keys: no recorded answer")
	}
	for _, msp := range []string{demoRequester, d.recorded[0].Key.Responder} {
		client, err := d.net.Client(msp)
		if err != nil {
			return err
		}
		resp, err := client.RotateKeys(ctx, &riskmeshv1.RotateKeysRequest{Kind: riskmeshv1.KeyKind_KEY_KIND_SIGNING})
		if err != nil {
			return fmt.Errorf("keys: rotate %s's signing key: %w", msp, err)
		}
		fmt.Fprintf(d.out, "   %s: new signing key registered and in use from period %d; the old one stays valid for period %d's entries\n",
			msp, resp.GetEffectivePeriod(), d.recorded[0].Key.Period)
		d.summary.Rotated = append(d.summary.Rotated, msp)
	}
	client, err := d.net.Client(demoRequester)
	if err != nil {
		return err
	}
	for _, e := range d.recorded {
		resp, err := client.GetTranscript(ctx, &riskmeshv1.GetTranscriptRequest{Period: e.Key.Period, Responder: e.Key.Responder, Sequence: e.Key.Sequence})
		if err != nil {
			return fmt.Errorf("keys: transcript of %s's answer: %w", e.Key.Responder, err)
		}
		tr, err := transcript.Parse(resp.GetTranscript())
		if err != nil {
			return fmt.Errorf("keys: transcript of %s's answer: %w", e.Key.Responder, err)
		}
		r, err := audit.Verify(ctx, tr, d.net.Admin())
		if err != nil {
			return err
		}
		if !r.OK() {
			return fmt.Errorf("keys: %s's answer fails its audit after the rotation: %v", e.Key.Responder, r.Failed())
		}
		d.summary.ReAudited++
	}
	fmt.Fprintf(d.out, "   the query's %d transcripts, signed under the replaced keys, still pass every audit check\n", d.summary.ReAudited)
	done()
	return nil
}

// claim is the scene of a dispute that fails: the requester disputes one
// of its honest answers with `riskmesh dispute` (run in this process, as an
// operator would from a shell), claiming a wrong label. That is not a
// cryptographic failure: the auditor verifies the transcript against the
// ledger, finds every check holds, and rejects the dispute with its signed
// reason; the charge stands on the ledger.
func (d *demo) claim(ctx context.Context) error {
	done := d.step("claim", fmt.Sprintf("a dispute of an honest answer: %s disputes it with riskmesh dispute", demoRequester))
	if len(d.recorded) == 0 {
		return errors.New("claim: no recorded answer")
	}
	e := d.recorded[0]
	node, err := d.net.Node(demoRequester)
	if err != nil {
		return err
	}
	entry := fmt.Sprintf("%d/%s/%d", e.Key.Period, e.Key.Responder, e.Key.Sequence)
	fmt.Fprintf(d.out, "   $ riskmesh dispute --config %s/node.yaml --entry %s --auditor-addr %s --reason \"the label looks wrong\"\n",
		demoRequester, entry, d.net.AuditorAddress())
	var out bytes.Buffer
	cmd := newRootCommand()
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"dispute", "--config", node.Config(), "--api", "unix://" + node.Socket(), "--entry", entry,
		"--auditor", d.net.Regulator().MSPID, "--auditor-addr", d.net.AuditorAddress(), "--reason", "the label looks wrong"})
	if err := cmd.ExecuteContext(ctx); err != nil {
		return fmt.Errorf("claim: riskmesh dispute: %w\n%s", err, out.String())
	}
	lines := strings.SplitN(out.String(), "\n", 3)
	for _, l := range lines[:min(2, len(lines))] {
		fmt.Fprintf(d.out, "   %s\n", l)
	}
	if !strings.Contains(lines[0], "rejected: the charge stands") {
		return fmt.Errorf("claim: the dispute of an honest answer was not rejected:\n%s", out.String())
	}
	got, err := d.net.Admin().Entry(ctx, e.Key)
	if err != nil {
		return err
	}
	if got.Reversal != nil {
		return fmt.Errorf("claim: the honest answer's charge was reversed by %s", got.Reversal.Auditor)
	}
	fmt.Fprintf(d.out, "   the ledger entry is unchanged: %s keeps its %d tokens\n", e.Key.Responder, got.Amount)
	d.summary.Claim = &summaryClaim{Responder: e.Key.Responder, Sequence: e.Key.Sequence, Verdict: "rejected", Stands: true}
	done()
	return nil
}

// dispute is the scene with a misbehaving provider: demoRogue restarts
// with provider.misbehave, so its answers carry a corrupted element under a
// valid signature and are billed; the requester's node finds the proof
// false, files the dispute with the regulator's auditor service by itself,
// and reverses the entry once the auditor upholds it. The scene checks each
// step from the outside (the query's status, GetQuery's dispute state, the
// ledger's entry), then restarts the provider honest.
func (d *demo) dispute(ctx context.Context, batch *synth.Batch) error {
	done := d.step("dispute", fmt.Sprintf("dispute: %s restarts as a misbehaving provider (provider.misbehave: %s)", demoRogue, config.MisbehaveCorruptEvaluation))
	misbehave := func(c *config.Config) { c.Provider.Misbehave = config.MisbehaveCorruptEvaluation }
	if err := d.net.Restart(ctx, demoRogue, misbehave); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   %s restarted: each answer now has one element altered after its proof, signed and billed as usual\n", demoRogue)
	client, err := d.net.Client(demoRequester)
	if err != nil {
		return err
	}
	req := batch.Request()
	req.Providers = []string{demoRogue}
	id, res, err := runQueryID(ctx, client, req)
	if err != nil {
		return err
	}
	var part *riskmeshv1.ProviderResult
	for _, p := range res.GetProviders() {
		if p.GetProvider() == demoRogue {
			part = p
		}
	}
	if part == nil || part.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED {
		return fmt.Errorf("dispute: %s's answer was not found bad: %v", demoRogue, res.GetProviders())
	}
	fmt.Fprintf(d.out, "   %s asks %s about the same %d identifiers: %s, %d items billed, %d tokens (%s)\n", demoRequester, demoRogue,
		len(batch.Items), providerWord(part.GetStatus()), part.GetItems(), part.GetAmount(), part.GetError().GetMessage())
	auditor := d.net.Regulator().MSPID
	fmt.Fprintf(d.out, "   %s's node files the dispute with the auditor, %s (riskmesh audit serve on %s)\n", demoRequester, auditor, d.net.AuditorAddress())

	var disputes []*riskmeshv1.ExchangeDispute
	err = d.net.Wait(ctx, "the dispute's verdict acted on", func() error {
		rec, err := client.GetQuery(ctx, &riskmeshv1.GetQueryRequest{QueryId: id})
		if err != nil {
			return err
		}
		for _, p := range rec.GetResult().GetProviders() {
			if p.GetProvider() == demoRogue {
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
			return fmt.Errorf("dispute: %s's bad answer ended %v, not reversed: %s", demoRogue, x.GetState(), x.GetReason())
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
		if e.Reversal == nil || e.Reversal.Auditor != auditor {
			return fmt.Errorf("dispute: the ledger entry of sequence %d is not reversed by %s", e.Key.Sequence, auditor)
		}
		reversed++
		fmt.Fprintf(d.out, "   ledger entry %s -> %s, %s, %d items, %d tokens: reversed by %s (transaction %s); settlement will not charge it\n",
			e.Key.Requester, e.Key.Responder, e.Category, e.Count, e.Amount, e.Reversal.Auditor, e.Reversal.TxID)
		d.summary.Entries = append(d.summary.Entries, summaryEntry{
			Requester: e.Key.Requester, Responder: e.Key.Responder, Category: e.Category, Items: e.Count, Amount: e.Amount, Reversed: e.Reversal.Auditor,
		})
	}
	if reversed != len(keys) {
		return fmt.Errorf("dispute: %d of %d disputed entries on the ledger", reversed, len(keys))
	}
	d.summary.Dispute = &summaryDispute{
		Provider: demoRogue, Status: providerWord(part.GetStatus()), State: disputeWord(riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED),
		Items: part.GetItems(), Amount: part.GetAmount(), Auditor: auditor, Reversed: reversed,
	}
	honest := func(c *config.Config) { c.Provider.Misbehave = "" }
	if err := d.net.Restart(ctx, demoRogue, honest); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   %s restarted honest\n", demoRogue)
	done()
	return nil
}

// providerWord is a provider status without its enum prefix, e.g. DISPUTED.
func providerWord(s riskmeshv1.ProviderStatus) string {
	return strings.TrimPrefix(s.String(), "PROVIDER_STATUS_")
}

// disputeWord is a dispute state without its enum prefix, e.g. REVERSED.
func disputeWord(s riskmeshv1.DisputeState) string {
	return strings.TrimPrefix(s.String(), "DISPUTE_STATE_")
}

// checkNames lists a report's checks by name.
func checkNames(r *audit.Report) string {
	names := make([]string, len(r.Checks))
	for i, c := range r.Checks {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// periodCycle rolls over, closes and settles period 1, then snapshots it,
// and checks the balances: they sum to zero before the snapshot, which
// records them, and are all zero after it.
func (d *demo) periodCycle(ctx context.Context) error {
	done := d.step("settle", "period cycle: rollover, close, settle and snapshot of period 1")
	admin := d.net.Admin()
	p, err := admin.Rollover(ctx)
	if err != nil {
		return fmt.Errorf("rollover: %w", err)
	}
	fmt.Fprintf(d.out, "   period %d open; period 1 in its grace window\n", p.Number)
	if err := admin.ClosePeriod(ctx, 1); err != nil {
		return fmt.Errorf("close period 1: %w", err)
	}
	settled := false
	for range demoMaxSettleSteps {
		r, err := admin.Settle(ctx, 1, 0)
		if err != nil {
			return fmt.Errorf("settle period 1: %w", err)
		}
		if settled = r.Done; settled {
			break
		}
	}
	if !settled {
		return fmt.Errorf("period 1 not settled after %d steps", demoMaxSettleSteps)
	}
	fmt.Fprintln(d.out, "   period 1 closed and settled")
	if d.summary.BalancesBefore, err = balances(ctx, admin); err != nil {
		return err
	}
	snap, err := admin.TakeSnapshot(ctx, 1)
	if err != nil {
		return fmt.Errorf("snapshot of period 1: %w", err)
	}
	d.summary.Snapshot = snap.Balances
	if d.summary.BalancesAfter, err = balances(ctx, admin); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "   institution\tsettled balance\tin the snapshot\tafter the snapshot\t")
	var sum int64
	for _, msp := range slices.Sorted(maps.Keys(d.summary.BalancesBefore)) {
		b := d.summary.BalancesBefore[msp]
		sum += b
		fmt.Fprintf(tw, "   %s\t%d\t%d\t%d\t\n", msp, b, snap.Balances[msp], d.summary.BalancesAfter[msp])
	}
	fmt.Fprintf(tw, "   sum\t%d\t-\t-\t\n", sum)
	tw.Flush()
	if err := d.checkBalances(sum); err != nil {
		return err
	}
	done()
	return nil
}

// checkBalances checks the settled balances against the entries and the
// snapshot and the netting.
func (d *demo) checkBalances(sum int64) error {
	want := map[string]int64{}
	for _, e := range d.summary.Entries {
		if e.Reversed != "" {
			continue
		}
		want[e.Requester] -= e.Amount
		want[e.Responder] += e.Amount
	}
	var errs []error
	if sum != 0 {
		errs = append(errs, fmt.Errorf("settled balances sum to %d, not zero", sum))
	}
	for msp, b := range d.summary.BalancesBefore {
		if b != want[msp] {
			errs = append(errs, fmt.Errorf("%s settled at %d, its entries make %d", msp, b, want[msp]))
		}
		if s := d.summary.Snapshot[msp]; s != b {
			errs = append(errs, fmt.Errorf("%s: snapshot holds %d, balance was %d", msp, s, b))
		}
		if a := d.summary.BalancesAfter[msp]; a != 0 {
			errs = append(errs, fmt.Errorf("%s: balance %d after the snapshot", msp, a))
		}
	}
	return errors.Join(errs...)
}

func balances(ctx context.Context, l accounting.Ledger) (map[string]int64, error) {
	accounts, err := l.Accounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("balances: %w", err)
	}
	m := make(map[string]int64, len(accounts))
	for _, a := range accounts {
		m[a.MSPID] = a.Balance
	}
	return m, nil
}

// keep prints how to use the running network and waits for Ctrl-C.
func (d *demo) keep(ctx context.Context, dir string) error {
	if err := d.waitCatalogs(ctx, 2, "catalogs_period_2"); err != nil {
		return err
	}
	req, err := d.net.Node(demoRequester)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, `
the network keeps running in period 2. In another terminal:
  riskmesh query --api unix://%s --category black --file %s
  riskmesh ledger --config %s balances
  riskmesh ledger --config %s entries 2
press Ctrl-C to stop every node.
`, req.Socket(), filepath.Join(dir, demoQueryFile), d.net.Regulator().Config(), d.net.Regulator().Config())
	<-ctx.Done()
	return nil
}
