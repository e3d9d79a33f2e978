package apiclient

import (
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/internal/printable"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// The text views of the API's answers, as `riskmesh` prints them. Text from
// the node or, through it, from other institutions is shown through Text.

// maxShownText bounds one shown text: an error message (1,024 bytes on
// the wire) with room for escapes.
const maxShownText = 4096

// Text is how a view shows text that came from the node: printable, one
// line, bounded.
func Text(s string) string { return printable.String(s, maxShownText) }

// WriteJSON writes m as indented protobuf JSON.
func WriteJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// WriteResult writes one line per identifier, then one per provider.
// args are the identifiers as the caller wrote them, by index; a stored
// query has none and shows its items by index. An identifier without hits
// reads "no hit" only if every provider answered.
func WriteResult(w io.Writer, args []string, r *riskmeshv1.QueryResult) {
	c := CoverageOf(r)
	fmt.Fprintf(w, "query %s: %d tokens\n", Text(r.GetQueryId()), r.GetAmount())
	miss := "no hit"
	switch {
	case c.answered() == 0:
		miss = "unknown: no provider answered"
	case len(c.unanswered) > 0:
		miss = fmt.Sprintf("unknown: no hit at %d of %d providers, %d did not answer", c.answered(), c.asked, len(c.unanswered))
	}
	for _, it := range r.GetItems() {
		arg := fmt.Sprintf("#%d", it.GetIndex())
		if int(it.GetIndex()) < len(args) {
			arg = args[it.GetIndex()]
		}
		switch {
		case it.GetInvalidReason() != riskmeshv1.InvalidReason_INVALID_REASON_UNSPECIFIED:
			fmt.Fprintf(w, "%s\tinvalid: %s\n", arg, Text(it.GetInvalidDetail()))
		case len(it.GetHits()) == 0:
			fmt.Fprintf(w, "%s\t%s\n", arg, miss)
		default:
			for _, h := range it.GetHits() {
				l := h.GetLabel()
				fmt.Fprintf(w, "%s\thit %s: category %d, reason %d, listed %s, reference %s\n", arg, Text(h.GetProvider()),
					l.GetCategoryCode(), l.GetReasonCode(), Text(l.GetListedDate()), hex.EncodeToString(l.GetProviderReference()))
			}
		}
	}
	for _, p := range r.GetProviders() {
		line := fmt.Sprintf("provider %s: %s, %d items, %d tokens", Text(p.GetProvider()),
			enumText(p.GetStatus().String(), "PROVIDER_STATUS_"), p.GetItems(), p.GetAmount())
		if msg := p.GetError().GetMessage(); msg != "" {
			line += " (" + Text(msg) + ")"
		}
		if late := lateText(p); late != "" {
			line += "; " + late
		}
		fmt.Fprintln(w, line)
	}
}

// WriteQueryRecord writes a stored query (GetQuery): its state, then its
// result as it stands now.
func WriteQueryRecord(w io.Writer, rec *riskmeshv1.QueryRecord) {
	fmt.Fprintf(w, "state %s, period %d\n", enumText(rec.GetState().String(), "QUERY_STATE_"), rec.GetPeriod())
	WriteResult(w, nil, rec.GetResult())
}

// lateText says how a provider's part changed after the query's stream
// ended, or "" if it did not.
func lateText(p *riskmeshv1.ProviderResult) string {
	c := p.GetLateChange()
	if c == nil {
		return ""
	}
	was := fmt.Sprintf("was %s, %d tokens", enumText(c.GetPreviousStatus().String(), "PROVIDER_STATUS_"), c.GetPreviousAmount())
	switch c.GetSource() {
	case riskmeshv1.LateSource_LATE_SOURCE_GIVEN_UP:
		return "late answer: none came; " + was + " when the query ended, still unbilled"
	case riskmeshv1.LateSource_LATE_SOURCE_RECONCILED:
		return "late answer: recovered by reconciliation, " + was + " when the query ended; the bill stands, hits unknown"
	}
	return "late answer: " + was + " when the query ended"
}

// WriteQueryList writes ListQueries' summaries, one line each.
func WriteQueryList(w io.Writer, qs []*riskmeshv1.QuerySummary) {
	if len(qs) == 0 {
		fmt.Fprintln(w, "no queries")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "QUERY\tSTATE\tCATEGORY\tPERIOD\tIDENTIFIERS\tHIT\tTOKENS\tACCEPTED")
	for _, q := range qs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", Text(q.GetQueryId()),
			enumText(q.GetState().String(), "QUERY_STATE_"), Text(q.GetCategory()), q.GetPeriod(),
			q.GetIdentifiers(), q.GetHitIdentifiers(), q.GetAmount(), timeText(q.GetCreatedAt()))
	}
	tw.Flush()
}

// WriteProviders writes Providers' answer: the period, the prices and one
// line per provider.
func WriteProviders(w io.Writer, r *riskmeshv1.ProvidersResponse) {
	fmt.Fprintf(w, "period %d\n", r.GetPeriod())
	for _, c := range slices.Sorted(maps.Keys(r.GetPrices())) {
		fmt.Fprintf(w, "price %s: %d tokens per item\n", Text(c), r.GetPrices()[c])
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tACTIVE\tREACHABLE\tCATEGORIES\tENDPOINT")
	for _, p := range r.GetProviders() {
		fmt.Fprintf(tw, "%s\t%t\t%t\t%s\t%s\n", Text(p.GetMspId()), p.GetActive(), p.GetReachable(),
			Text(strings.Join(p.GetCategories(), ",")), Text(p.GetEndpoint()))
	}
	tw.Flush()
	writeQuality(w, r.GetProviders())
}

// writeQuality writes the providers' quality scores (docs/quality.md), if
// the ledger has any: the medians across reporting requesters, the periods
// they cover and the price factor the current period applies.
func writeQuality(w io.Writer, providers []*riskmeshv1.ProviderInfo) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := false
	for _, p := range providers {
		for _, q := range p.GetQuality() {
			if !header {
				fmt.Fprintln(w)
				fmt.Fprintln(tw, "PROVIDER\tCATEGORY\tREPORTERS\tCONFIRMED\tWRONG\tHIT RATE\tPERIODS\tPRICE FACTOR")
				header = true
			}
			confirmed, wrong, hits := "-", "-", "-"
			if q.GetShown() {
				confirmed, wrong, hits = bpText(q.GetConfirmationBp()), bpText(q.GetWrongRateBp()), bpText(q.GetHitRateBp())
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%d-%d\tx%d.%02d (tier %d)\n", Text(p.GetMspId()), Text(q.GetCategory()),
				q.GetCoverage(), confirmed, wrong, hits, q.GetFromPeriod(), q.GetToPeriod(),
				q.GetMultiplierBp()/10_000, q.GetMultiplierBp()%10_000/100, q.GetTier())
		}
	}
	tw.Flush()
}

// bpText shows basis points as a percentage with two decimals.
func bpText(bp uint32) string { return fmt.Sprintf("%d.%02d%%", bp/100, bp%100) }

// WriteCatalogs writes CatalogStatus' answer: the catalogs served as a
// provider, then those downloaded as a requester.
func WriteCatalogs(w io.Writer, r *riskmeshv1.CatalogStatusResponse) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SIDE\tPROVIDER\tCATEGORY\tPERIOD\tSTATE\tITEMS\tPROGRESS\tDIGEST\tERROR")
	for _, c := range r.GetLocal() {
		state := enumText(c.GetState().String(), "CATALOG_STATE_")
		if c.GetServing() {
			state += ", serving"
		}
		for _, st := range c.GetStaleSources() {
			state += ", last good read of " + Text(st.GetSource())
		}
		fmt.Fprintf(tw, "served\t-\t%s\t%d\t%s\t%d\t%s\t%s\t%s\n", Text(c.GetCategory()), c.GetPeriod(), state, c.GetItems(),
			progressText(c.GetEntriesDone(), c.GetEntriesTotal()), shortHex(c.GetDigest()), Text(c.GetError()))
	}
	for _, c := range r.GetRemote() {
		fmt.Fprintf(tw, "downloaded\t%s\t%s\t%d\t%s\t%d\t%s\t%s\t%s\n", Text(c.GetProvider()), Text(c.GetCategory()), c.GetPeriod(),
			enumText(c.GetState().String(), "CATALOG_STATE_"), c.GetItems(), progressText(c.GetBytesDone(), c.GetTotalLength()),
			shortHex(c.GetDigest()), Text(c.GetError()))
	}
	tw.Flush()
}

// WriteBalance writes Balance's answer.
func WriteBalance(w io.Writer, b *riskmeshv1.BalanceResponse) {
	fmt.Fprintf(w, "%s, period %d (ledger read %s)\n", Text(b.GetMspId()), b.GetPeriod(), timeText(b.GetLedgerAsOf()))
	fmt.Fprintf(w, "balance            %d\n", b.GetBalance())
	fmt.Fprintf(w, "overdraft limit    %d\n", b.GetOverdraftLimit())
	fmt.Fprintf(w, "unsettled spend    %d\n", b.GetUnsettledSpend())
	fmt.Fprintf(w, "unsettled earnings %d\n", b.GetUnsettledEarnings())
	fmt.Fprintf(w, "headroom           %d\n", b.GetHeadroom())
	if b.GetFlagged() {
		fmt.Fprintln(w, "flagged: past the overdraft limit; providers refuse this node's queries")
	}
}

// WriteHealth writes Health's answer: the node, then one line per
// component.
func WriteHealth(w io.Writer, h *riskmeshv1.HealthResponse) {
	fmt.Fprintf(w, "%s %s, period %d, %s; %d accounting entries not yet on the ledger\n", Text(h.GetMspId()),
		Text(h.GetVersion()), h.GetPeriod(), HealthText(h), h.GetOutboxDepth())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range h.GetComponents() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", Text(c.GetName()), enumText(c.GetStatus().String(), "HEALTH_STATUS_"), Text(c.GetMessage()))
	}
	tw.Flush()
}

// HealthText names the node's overall status: serving, degraded, ...
func HealthText(h *riskmeshv1.HealthResponse) string {
	return enumText(h.GetStatus().String(), "HEALTH_STATUS_")
}

// WriteReconcile writes Reconcile's report: the counts per state, then
// every entry that is not matched.
func WriteReconcile(w io.Writer, r *riskmeshv1.ReconcileReport) {
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
		line := fmt.Sprintf("%s sequence %d: %s, %d tokens", Text(k.GetResponder()), k.GetSequence(),
			enumText(e.GetState().String(), "RECONCILE_STATE_"), e.GetAmount())
		if e.GetNote() != "" {
			line += " (" + Text(e.GetNote()) + ")"
		}
		fmt.Fprintln(w, line)
	}
}

// WriteImport writes one list source's import or refresh: its counts, its
// rejected rows (line and reason; the node never sends values) and what
// happens next.
func WriteImport(w io.Writer, dryRun bool, imp *riskmeshv1.ListImport) {
	fmt.Fprintf(w, "%s: %d rows, %d accepted, %d rejected (%s)\n", Text(imp.GetSource()),
		imp.GetRows(), imp.GetAccepted(), imp.GetRejected(), imp.GetDuration().AsDuration().Round(time.Millisecond))
	for _, r := range imp.GetRejectedRows() {
		fmt.Fprintf(w, "  line %d: %s\n", r.GetLine(), Text(r.GetReason()))
	}
	if shown := uint64(len(imp.GetRejectedRows())); shown < imp.GetRejected() {
		fmt.Fprintf(w, "  ... and %d more rejected rows\n", imp.GetRejected()-shown)
	}
	switch {
	case imp.GetError() != "":
		fmt.Fprintf(w, "  error: %s\n", Text(imp.GetError()))
	case dryRun:
		fmt.Fprintln(w, "  dry run: nothing changed")
	case len(imp.GetCategories()) > 0:
		fmt.Fprintf(w, "  catalogs to rebuild: %s\n", Text(strings.Join(imp.GetCategories(), ", ")))
	}
}

// ImportErr names the sources of imports that could not be read, or is nil.
func ImportErr(imports []*riskmeshv1.ListImport) error {
	var failed []string
	for _, imp := range imports {
		if imp.GetError() != "" {
			failed = append(failed, imp.GetSource())
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("list source %s could not be read; nothing changed for it", Text(strings.Join(failed, ", ")))
}

// WriteBackup writes Backup's answer: each copy's size and digest, and
// the verified head of the ledger copy's log.
func WriteBackup(w io.Writer, resp *riskmeshv1.BackupResponse) {
	fmt.Fprintf(w, "backup of %s\n", timeText(resp.GetTakenAt()))
	for _, f := range resp.GetFiles() {
		fmt.Fprintf(w, "%s  %d bytes  sha256 %s\n", Text(f.GetPath()), f.GetSize(), hex.EncodeToString(f.GetSha256()))
	}
	for _, f := range resp.GetFiles() {
		if h := f.GetLedgerHead(); h != nil {
			fmt.Fprintf(w, "ledger log head %d:%s (verified; keep it off this machine)\n", h.GetSequence(), hex.EncodeToString(h.GetHash()))
		}
	}
}

// WriteRotation writes RotateKeys' answer.
func WriteRotation(w io.Writer, resp *riskmeshv1.RotateKeysResponse) {
	fmt.Fprintf(w, "rotated %s key", enumText(resp.GetKind().String(), "KEY_KIND_"))
	if resp.GetCategory() != "" {
		fmt.Fprintf(w, " of %s", Text(resp.GetCategory()))
	}
	fmt.Fprintf(w, "; in use from period %d\n", resp.GetEffectivePeriod())
	if id := resp.GetKeyId(); len(id) > 0 {
		fmt.Fprintf(w, "key id: %s\n", hex.EncodeToString(id))
	}
}

// enumText shows an enum value without its prefix, in lower case.
func enumText(s, prefix string) string { return strings.ToLower(strings.TrimPrefix(s, prefix)) }

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

// shortHex shows a digest's first 8 bytes, enough to compare by eye.
func shortHex(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b[:min(len(b), 8)])
}

// WriteDeadEvents prints the push events destinations gave up on, one a line.
func WriteDeadEvents(w io.Writer, events []*riskmeshv1.DeadEvent) {
	if len(events) == 0 {
		fmt.Fprintln(w, "no dead push events")
		return
	}
	for _, e := range events {
		fmt.Fprintf(w, "%s %s %s %s #%d, %d attempts, died %s: %s\n", e.GetDestination(), e.GetEventId(),
			enumText(e.GetType().String(), "PUSH_EVENT_TYPE_"), e.GetStream(), e.GetStreamSequence(), e.GetAttempts(),
			timeText(e.GetDiedAt()), Text(e.GetLastError()))
	}
}
