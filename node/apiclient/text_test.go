package apiclient

import (
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// A provider part changed after the stream ended says so on its line; an
// unchanged one does not.
func TestWriteResultShowsLateChanges(t *testing.T) {
	unavailable := riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE
	tests := []struct {
		name   string
		change *riskmeshv1.LateChange
		want   string
	}{
		{"unchanged", nil, ""},
		{"late answer", &riskmeshv1.LateChange{PreviousStatus: unavailable, Source: riskmeshv1.LateSource_LATE_SOURCE_LATE_ANSWER},
			"late answer: was unavailable, 0 tokens when the query ended"},
		{"given up", &riskmeshv1.LateChange{PreviousStatus: unavailable, Source: riskmeshv1.LateSource_LATE_SOURCE_GIVEN_UP},
			"late answer: none came; was unavailable, 0 tokens when the query ended, still unbilled"},
		{"reconciled", &riskmeshv1.LateChange{PreviousStatus: riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED,
			Source: riskmeshv1.LateSource_LATE_SOURCE_RECONCILED}, "recovered by reconciliation, was refused, 0 tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			r := &riskmeshv1.QueryResult{QueryId: "q1", Amount: 6,
				Items:     []*riskmeshv1.ItemResult{{Index: 0}},
				Providers: []*riskmeshv1.ProviderResult{{Provider: "P1MSP", Status: riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED, Items: 3, Amount: 6, LateChange: tt.change}}}
			WriteResult(&b, nil, r)
			out := b.String()
			if tt.want == "" && strings.Contains(out, "late answer") || !strings.Contains(out, tt.want) {
				t.Fatalf("output:\n%s\nwant %q", out, tt.want)
			}
			if !strings.Contains(out, "#0\t") {
				t.Fatalf("output:\n%s\nwant the item named by its index", out)
			}
		})
	}
}

// The reconciliation report counts each state and lists every entry that
// is not matched, by provider and sequence.
func TestWriteReconcile(t *testing.T) {
	key := func(seq uint64) *riskmeshv1.EntryKey {
		return &riskmeshv1.EntryKey{Period: 3, Requester: "BankMSP", Responder: "P1MSP", Sequence: seq}
	}
	var b strings.Builder
	WriteReconcile(&b, &riskmeshv1.ReconcileReport{Period: 3, Matched: 1, Disputed: 1, Billed: 10, Entries: []*riskmeshv1.ReconciledEntry{
		{Key: key(1), Amount: 4, State: riskmeshv1.ReconcileState_RECONCILE_STATE_MATCHED},
		{Key: key(2), Amount: 6, State: riskmeshv1.ReconcileState_RECONCILE_STATE_DISPUTED, Note: "not redelivered"},
	}})
	out := b.String()
	for _, want := range []string{"period 3: 2 entries billed, 10 tokens", "matched 1, recovered 0, disputed 1",
		"P1MSP sequence 2: disputed, 6 tokens (not redelivered)", "has not reconciled this period yet"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "sequence 1:") {
		t.Errorf("a matched entry is listed:\n%s", out)
	}
}

// Providers' quality scores follow the provider table: rates only once
// enough requesters report, the periods scored and the price factor.
func TestWriteProvidersShowsQuality(t *testing.T) {
	var b strings.Builder
	WriteProviders(&b, &riskmeshv1.ProvidersResponse{Period: 3, Providers: []*riskmeshv1.ProviderInfo{
		{MspId: "Bank1MSP", Active: true, Categories: []string{"black"}, Quality: []*riskmeshv1.ProviderQuality{
			{Category: "black", Coverage: 3, Shown: true, HitRateBp: 1250, ConfirmationBp: 8000, WrongRateBp: 2000,
				FromPeriod: 1, ToPeriod: 1, MultiplierBp: 5000, Tier: 1},
			{Category: "grey", Coverage: 1, FromPeriod: 1, ToPeriod: 1, MultiplierBp: 10_000},
		}},
		{MspId: "Bank2MSP", Active: true, Categories: []string{"black"}},
	}})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := []string{
		"PROVIDER  CATEGORY  REPORTERS  CONFIRMED  WRONG   HIT RATE  PERIODS  PRICE FACTOR",
		"Bank1MSP  black     3          80.00%     20.00%  12.50%    1-1      x0.50 (tier 1)",
		"Bank1MSP  grey      1          -          -       -         1-1      x1.00 (tier 0)",
	}
	if len(lines) < len(want) || !slicesEqualTrimmed(lines[len(lines)-len(want):], want) {
		t.Fatalf("got\n%s\nwant the table ending\n%s", b.String(), strings.Join(want, "\n"))
	}
	b.Reset()
	WriteProviders(&b, &riskmeshv1.ProvidersResponse{Providers: []*riskmeshv1.ProviderInfo{{MspId: "Bank2MSP"}}})
	if strings.Contains(b.String(), "PRICE FACTOR") {
		t.Fatalf("a quality table without scores:\n%s", b.String())
	}
}

func slicesEqualTrimmed(got, want []string) bool {
	for i := range want {
		if strings.TrimRight(got[i], " ") != want[i] {
			return false
		}
	}
	return len(got) == len(want)
}

// A reconciliation's dispute is shown with what it means for the charge, in
// show and in list; one never disputed shows none.
func TestWriteReconciliationDispute(t *testing.T) {
	tests := []struct {
		name        string
		dispute     *riskmeshv1.ExchangeDispute
		show, shown string // what show and list's DISPUTE column say
	}{
		{"none", nil, "", "-"},
		{"pending", &riskmeshv1.ExchangeDispute{State: riskmeshv1.DisputeState_DISPUTE_STATE_PENDING, Reason: "reply 1 failed its proof"},
			"pending: reply 1 failed its proof", "pending"},
		{"reversed", &riskmeshv1.ExchangeDispute{State: riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED, Reason: "not the answered chunk raised"},
			"reversed (the charge is reversed on the ledger): not the answered chunk raised", "reversed"},
		{"rejected", &riskmeshv1.ExchangeDispute{State: riskmeshv1.DisputeState_DISPUTE_STATE_REJECTED, Reason: "the answer is correct"},
			"rejected (the charge stands): the answer is correct", "rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &riskmeshv1.Reconciliation{Id: "A-B-3-1", Role: "requester", State: "failed", Dispute: tt.dispute}
			var show, list strings.Builder
			WriteReconciliation(&show, st)
			if strings.Contains(show.String(), "\ndispute ") != (tt.dispute != nil) || !strings.Contains(show.String(), tt.show) {
				t.Fatalf("show:\n%s\nwant %q", show.String(), tt.show)
			}
			WriteReconciliations(&list, []*riskmeshv1.Reconciliation{st})
			lines := strings.Split(strings.TrimSpace(list.String()), "\n")
			if len(lines) != 2 || !strings.HasSuffix(lines[0], "DISPUTE") || !strings.HasSuffix(lines[1], " "+tt.shown) {
				t.Fatalf("list:\n%s\nwant a DISPUTE column saying %q", list.String(), tt.shown)
			}
		})
	}
}
