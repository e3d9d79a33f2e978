package adversary

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/internal/testwait"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/hepsi"
)

// dialProvider opens m's own QUIC connection to p, as its node would.
func (n *Network) dialProvider(m *Member, p *Provider) *peer.Client {
	n.t.Helper()
	c, err := peer.Dial(context.Background(), p.Addr(), peer.Config{Certificate: m.Cert, Authorizer: n.dir})
	must(n.t, err)
	n.t.Cleanup(func() { c.Close() })
	return c
}

// evaluationKey asks p for its live parameters over c and returns a fresh
// evaluation key under them, and the upload that carries it.
func (n *Network) evaluationKey(c *peer.Client, p *Provider) *riskmeshv1.PeerRequest {
	n.t.Helper()
	resp, err := c.Do(context.Background(), &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveInfo{
		LiveInfo: &riskmeshv1.LiveInfoRequest{Provider: p.MSP, Category: Category, Period: n.Period}}})
	must(n.t, err)
	var params hepsi.Params
	must(n.t, params.UnmarshalBinary(resp.GetLiveInfo().GetParams()))
	he, err := hepsi.NewRequester(params)
	must(n.t, err)
	key, err := he.EvaluationKey().MarshalBinary()
	must(n.t, err)
	return &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveKey{LiveKey: &riskmeshv1.LiveKeyUpload{
		Provider: p.MSP, Category: Category, Period: n.Period, Key: key,
	}}}
}

// TestAdversaryLiveKeyUploadFlood plays a member that uploads its own
// valid evaluation key in a loop over real QUIC, on several streams at
// once: each upload is unbilled and a decode of the key for the provider,
// and the peer rate limit alone would let it keep a core busy. The
// provider takes its budget (provider.DefaultLiveKeyBurst, and
// DefaultLiveKeyPerMinute after) and refuses every other upload
// RATE_LIMITED with a retry hint before decoding it, so the decodes stay
// within the budget however long the flood goes on. Meanwhile another
// member's upload is taken, and the honest requester node, which uploaded
// its key ahead, gets its live query answered with the right hits.
func TestAdversaryLiveKeyUploadFlood(t *testing.T) {
	// A long deadline: the honest query shares two loaded cores with the
	// flood's transfers.
	n := Start(t, Config{Listings: [][]int{{1, 2}}, Live: true, Deadline: 2 * time.Minute})
	prov := n.Providers[0]
	testwait.Until(t, "the requester node's key uploaded ahead", time.Minute, func() error {
		if decoded, _ := prov.Node.LiveKeyUploads(); decoded == 0 {
			return errors.New("no upload decoded yet")
		}
		return nil
	})
	before, _ := prov.Node.LiveKeyUploads()

	mallory := n.Member("ZMalloryMSP")
	conn := n.dialProvider(mallory, prov)
	upload := n.evaluationKey(conn, prov)
	const streams, minFlood = 4, 3 * provider.DefaultLiveKeyBurst
	var stored, limited atomic.Uint64
	stop := make(chan struct{})
	var flood sync.WaitGroup
	start := time.Now()
	for range streams {
		flood.Go(func() {
			for {
				select {
				case <-stop:
					if stored.Load()+limited.Load() >= minFlood {
						return
					}
				default:
				}
				resp, err := conn.Do(context.Background(), upload)
				var re *peer.RemoteError
				switch {
				case err == nil && resp.GetLiveKeyStored() != nil:
					stored.Add(1)
				case errors.As(err, &re) && re.Code == riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED && re.RetryAfter > 0:
					limited.Add(1)
				default:
					t.Errorf("flooded upload: %v, %v; want stored or RATE_LIMITED with a retry hint", resp, err)
					return
				}
			}
		})
	}

	// Another member's upload, and the honest node's live query, during
	// the flood.
	testwait.Until(t, "the flood spends its budget", time.Minute, func() error {
		if limited.Load() == 0 {
			return fmt.Errorf("%d uploads stored, none refused yet", stored.Load())
		}
		return nil
	})
	other := n.Member("ZOtherMSP")
	otherConn := n.dialProvider(other, prov)
	if resp, err := otherConn.Do(context.Background(), n.evaluationKey(otherConn, prov)); err != nil || resp.GetLiveKeyStored() == nil {
		t.Fatalf("another member's upload during the flood: %v, %v", resp, err)
	}
	asked := time.Now()
	res, err := n.Query(context.Background(), &riskmeshv1.QueryRequest{
		Category: Category, Identifiers: Phones(1, 3), Mode: riskmeshv1.QueryMode_QUERY_MODE_LIVE,
	})
	must(t, err)
	queried := time.Since(asked)
	close(stop)
	flood.Wait()
	elapsed := time.Since(start)

	part := res.GetProviders()[0]
	if part.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || part.GetMode() != riskmeshv1.QueryMode_QUERY_MODE_LIVE {
		t.Fatalf("honest live query during the flood: %v in mode %v (%s)", part.GetStatus(), part.GetMode(), part.GetError().GetMessage())
	}
	if hits := res.GetItems()[0].GetHits(); len(hits) != 1 || hits[0].GetProvider() != prov.MSP || len(res.GetItems()[1].GetHits()) != 0 {
		t.Fatalf("honest live query during the flood: hits %v and %v, want the listed phone only", res.GetItems()[0].GetHits(), res.GetItems()[1].GetHits())
	}

	// The flooder's uploads decoded: its burst and what the budget
	// regained while the flood ran, however many it sent.
	refill := uint64(elapsed.Minutes()*provider.DefaultLiveKeyPerMinute) + 1
	if s := stored.Load(); s < provider.DefaultLiveKeyBurst || s > provider.DefaultLiveKeyBurst+refill {
		t.Fatalf("%d of the flood's %d uploads taken in %v, want %d and at most %d more", s, s+limited.Load(), elapsed, provider.DefaultLiveKeyBurst, refill)
	}
	decoded, refused := prov.Node.LiveKeyUploads()
	if decoded-before != stored.Load()+1 || refused != limited.Load() {
		t.Fatalf("provider decoded %d uploads and refused %d; want the flooder's %d taken and the other member's, and the flooder's %d refused undecoded",
			decoded-before, refused, stored.Load(), limited.Load())
	}
	t.Logf("flood of %d uploads in %v: %d decoded, %d refused before decoding; the honest live query took %v",
		stored.Load()+limited.Load(), elapsed.Round(time.Millisecond), stored.Load(), limited.Load(), queried.Round(time.Millisecond))
}
