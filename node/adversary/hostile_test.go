package adversary

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// hostileTexts are error texts a dishonest provider sends in place of an
// answer, each within what its QUIC listener lets it send for the query
// below.
var hostileTexts = []struct {
	name string
	text string
}{
	// 1,041 bytes: cut at 1,024 bytes, the last é loses its second byte.
	{"cut mid-character", "a" + strings.Repeat("é", 520)},
	{"terminal escapes", "\x1b[2J\x1b[H\x1b]0;owned\x07 pay now \u202eevil\r\n\u009b31m"},
	{"huge", strings.Repeat("\x1b[31mé", 800)},
}

// TestAdversaryHostileProviderText: a provider answers every evaluation
// with hostile error text while two others answer honestly. The stream
// ends with a result, the stored record is COMPLETE, the honest providers'
// hits, tokens and transcripts are all there, and the hostile text is
// stored and streamed as valid, printable, bounded UTF-8.
func TestAdversaryHostileProviderText(t *testing.T) {
	n := Start(t, Config{Listings: [][]int{{1, 2}, {2, 3}, {4}}})
	hostile := n.Providers[2]
	items := make([]int, 200) // room in the listener's response bound for the huge text
	for i := range items {
		items[i] = i + 1
	}
	var seq uint64
	for _, tc := range hostileTexts {
		t.Run(tc.name, func(t *testing.T) {
			hostile.Intercept(func(_ context.Context, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
				if req.GetEvaluate() == nil {
					return nil
				}
				return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Error{Error: &riskmeshv1.PeerError{
					Code: riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND, Message: tc.text,
				}}}
			})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := n.Query(ctx, &riskmeshv1.QueryRequest{Category: Category, Identifiers: Phones(items...)})
			if err != nil {
				t.Fatalf("one provider's text broke the query: %v", err)
			}
			seq++
			checkHonestParts(t, n, res, len(items))
			rec, err := n.API.GetQuery(ctx, &riskmeshv1.GetQueryRequest{QueryId: res.GetQueryId()})
			if err != nil {
				t.Fatal(err)
			}
			if rec.GetState() != riskmeshv1.QueryState_QUERY_STATE_COMPLETE {
				t.Fatalf("stored query is %v", rec.GetState())
			}
			checkHonestParts(t, n, rec.GetResult(), len(items))
			for _, pr := range append(rec.GetProviderResults(), res.GetProviders()...) {
				if pr.GetProvider() != hostile.MSP {
					continue
				}
				if pr.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED {
					t.Errorf("hostile provider's part is %v", pr.GetStatus())
				}
				checkPrintable(t, pr.GetError().GetMessage(), riskmeshv1.MaxErrorMessage)
			}
			for _, p := range n.Providers[:2] {
				tr, err := n.API.GetTranscript(ctx, &riskmeshv1.GetTranscriptRequest{Period: n.Period, Responder: p.MSP, Sequence: seq})
				if err != nil || len(tr.GetTranscript()) == 0 {
					t.Errorf("transcript %d of %s: %v", seq, p.MSP, err)
				}
			}
		})
	}
	bal, err := n.API.Balance(context.Background(), &riskmeshv1.BalanceRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(hostileTexts) * 2 * len(items) * Price); bal.GetUnsettledSpend() != want {
		t.Errorf("unsettled spend %d, want %d (the honest providers' answers only)", bal.GetUnsettledSpend(), want)
	}
}

// checkHonestParts checks the honest providers' parts of a query of phones
// 1..items: P1MSP lists 1 and 2, P2MSP 2 and 3, both answered and billed.
func checkHonestParts(t *testing.T, n *Network, res *riskmeshv1.QueryResult, items int) {
	t.Helper()
	want := map[int][]string{0: {"P1MSP"}, 1: {"P1MSP", "P2MSP"}, 2: {"P2MSP"}}
	for i, it := range res.GetItems() {
		var got []string
		for _, h := range it.GetHits() {
			got = append(got, h.GetProvider())
		}
		if strings.Join(got, ",") != strings.Join(want[i], ",") {
			t.Errorf("item %d hits %v, want %v", i, got, want[i])
		}
	}
	for _, p := range n.Providers[:2] {
		found := false
		for _, pr := range res.GetProviders() {
			if pr.GetProvider() != p.MSP {
				continue
			}
			found = true
			if pr.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || pr.GetAmount() != int64(items*Price) {
				t.Errorf("%s: %v, %d tokens", p.MSP, pr.GetStatus(), pr.GetAmount())
			}
		}
		if !found {
			t.Errorf("no part of %s", p.MSP)
		}
	}
}

// checkPrintable fails unless s is valid UTF-8 of printable runes within
// max bytes.
func checkPrintable(t *testing.T, s string, max int) {
	t.Helper()
	if len(s) > max || !utf8.ValidString(s) {
		t.Fatalf("text of %d bytes, valid UTF-8 %v", len(s), utf8.ValidString(s))
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			t.Fatalf("unprintable %U in %q", r, s)
		}
	}
	if s == "" {
		t.Fatal("the provider's text was dropped")
	}
}
