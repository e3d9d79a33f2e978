package peer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// selfSigned stands in for an institution's TLS certificate.
func selfSigned() tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// Example shows a provider serving catalog metadata to a requester, both
// authenticated by the fingerprints a registry (here a map) lists.
func Example() {
	provider, requester := selfSigned(), selfSigned()
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
