package peer_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Example shows a provider serving catalog metadata to a requester, both
// authenticated by the fingerprints a registry (here a map) lists.
func Example() {
	// Self-signed certificates stand in for the institutions' (node/identity
	// makes a node's).
	provider, _ := selfsigned.New("ProviderMSP", nil, nil, time.Now())
	requester, _ := selfsigned.New("RequesterMSP", nil, nil, time.Now())
	registry := map[peer.Fingerprint]string{
		peer.FingerprintOf(provider.Certificate[0]):  "ProviderMSP",
		peer.FingerprintOf(requester.Certificate[0]): "RequesterMSP",
	}
	// A map lookup is fine: fingerprints are public, nothing secret is compared.
	auth := peer.AuthorizerFunc(func(fp [32]byte) (string, error) {
		if msp, ok := registry[fp]; ok {
			return msp, nil
		}
		return "", errors.New("not an active institution")
	})

	ctx := context.Background()
	srv, err := peer.Listen(ctx, "127.0.0.1:0", peer.Config{
		Certificate: provider,
		Authorizer:  auth,
		Handler: func(_ context.Context, _ peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
			return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_CatalogInfo{CatalogInfo: &riskmeshv1.CatalogInfo{
				Provider: "ProviderMSP", Category: req.GetCatalogInfo().GetCategory(),
			}}}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	c, err := peer.Dial(ctx, srv.Addr().String(), peer.Config{Certificate: requester, Authorizer: auth})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	resp, err := c.Do(ctx, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogInfo{
		CatalogInfo: &riskmeshv1.CatalogInfoRequest{Provider: "ProviderMSP", Category: "fraud", Period: 1},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Peer().MSPID, resp.GetCatalogInfo().GetCategory())
	// Output: ProviderMSP fraud
}
