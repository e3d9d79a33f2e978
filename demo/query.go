package demo

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// query runs the batch from the requester's node, prints the merged hits
// and checks them against the planted ones.
func (d *session) query(ctx context.Context, batch *synth.Batch) (*riskmeshv1.QueryResult, error) {
	done := d.step("query", fmt.Sprintf("%s queries %d identifiers (%d planted hits, invalid and duplicate items among them) against every %s list",
		Requester, len(batch.Items), countExpected(batch), category))
	client, err := d.net.Client(Requester)
	if err != nil {
		return nil, err
	}
	res, err := runQuery(ctx, client, batch.Request())
	if err != nil {
		return nil, err
	}
	d.summary.Requester, d.summary.Category, d.summary.Batch = Requester, category.String(), len(batch.Items)
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
		if slices.ContainsFunc(it.Hits, func(h synth.Hit) bool { return h.Provider != Requester }) {
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
// The query may take up to queryDeadline.
func runQueryID(ctx context.Context, c riskmeshv1.RiskMeshClient, req *riskmeshv1.QueryRequest) (string, *riskmeshv1.QueryResult, error) {
	req.Deadline = durationpb.New(queryDeadline)
	stream, err := c.Query(ctx, req)
	if err != nil {
		return "", nil, fmt.Errorf("query: %w", err)
	}
	id := ""
	for range maxEvents {
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
	return "", nil, fmt.Errorf("query: no result in %d events", maxEvents)
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
		if shown == shownHits {
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

// providerWord is a provider status without its enum prefix, e.g. DISPUTED.
func providerWord(s riskmeshv1.ProviderStatus) string {
	return strings.TrimPrefix(s.String(), "PROVIDER_STATUS_")
}
