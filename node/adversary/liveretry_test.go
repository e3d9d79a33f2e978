package adversary

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/internal/testwait"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// TestAdversaryLiveRetryLoop plays the requester institution running its
// own code: its node's live query, answered and billed, is sent again on
// the same exchange in a loop over real QUIC, on several streams at once.
// Each retry is unbilled; without the kept-answer check before decoding,
// each would cost the provider a decode and a write, and every one after
// the answer left memory a homomorphic evaluation. The provider answers
// every retry with the same answer and receipt without decoding the query
// again or evaluating it (no re-evaluation, nothing refused), a fresh live
// query of the honest node is answered during the loop, and the ledger
// bills the two exchanges once each. Retries whose answer is no longer
// kept, and their budget, are played by node/provider's
// TestAdversaryLiveRetry.
func TestAdversaryLiveRetryLoop(t *testing.T) {
	n := Start(t, Config{Listings: [][]int{{1, 2}}, Live: true, Deadline: 2 * time.Minute})
	prov := n.Providers[0]
	var sent atomic.Pointer[riskmeshv1.PeerRequest]
	prov.Intercept(func(_ context.Context, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		if req.GetLiveQuery() != nil {
			sent.CompareAndSwap(nil, proto.Clone(req).(*riskmeshv1.PeerRequest))
		}
		return nil
	})
	live := &riskmeshv1.QueryRequest{Category: Category, Identifiers: Phones(1, 3), Mode: riskmeshv1.QueryMode_QUERY_MODE_LIVE}
	res, err := n.Query(context.Background(), live)
	must(t, err)
	prov.Intercept(nil)
	if part := res.GetProviders()[0]; part.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || part.GetMode() != riskmeshv1.QueryMode_QUERY_MODE_LIVE {
		t.Fatalf("honest live query: %v in mode %v (%s)", part.GetStatus(), part.GetMode(), part.GetError().GetMessage())
	}
	retry := sent.Load()
	if retry == nil {
		t.Fatal("the honest node's live query was not seen")
	}
	decoded, _, _ := prov.Node.LiveQueries()

	conn := n.dialProvider(n.Self, prov)
	const streams, each = 4, 25
	var answer atomic.Pointer[riskmeshv1.LiveAnswer]
	var loop sync.WaitGroup
	for range streams {
		loop.Go(func() {
			for range each {
				resp, err := conn.Do(context.Background(), retry)
				got := resp.GetLiveAnswer()
				if err != nil || got == nil {
					t.Errorf("retry of an answered live query: %v, %v; want its answer", resp, err)
					return
				}
				if !answer.CompareAndSwap(nil, got) && !proto.Equal(answer.Load(), got) {
					t.Error("a retry got another answer or receipt than the others")
					return
				}
			}
		})
	}
	again, err := n.Query(context.Background(), live)
	must(t, err)
	loop.Wait()
	if part := again.GetProviders()[0]; part.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
		t.Fatalf("honest live query during the retry loop: %v (%s)", part.GetStatus(), part.GetError().GetMessage())
	}
	if hits := again.GetItems()[0].GetHits(); len(hits) != 1 || len(again.GetItems()[1].GetHits()) != 0 {
		t.Fatalf("honest live query during the retry loop: hits %v and %v, want the listed phone only", hits, again.GetItems()[1].GetHits())
	}

	// The honest query's own decode, nothing for the loop.
	if d, reevaluated, refused := prov.Node.LiveQueries(); d != decoded+1 || reevaluated != 0 || refused != 0 {
		t.Fatalf("after %d retries: %d queries decoded (before the loop %d), %d evaluated again, %d refused; want 1 more, 0, 0",
			streams*each, d, decoded, reevaluated, refused)
	}
	const want = 2 * 2 * LivePrice // two exchanges of two phones
	testwait.Until(t, "the two exchanges billed", time.Minute, func() error {
		bal, err := n.API.Balance(context.Background(), &riskmeshv1.BalanceRequest{})
		if err != nil {
			return err
		}
		if got := bal.GetUnsettledSpend(); got != want {
			return fmt.Errorf("unsettled spend %d, want %d", got, want)
		}
		return nil
	})
}
