package provider_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// A provider node publishes its black-list catalog for the current period
// and describes it to a peer. In a node, Handle is the peer.Server's
// handler and the registry Directory runs its own refresh loop.
func Example() {
	dir, _ := os.MkdirTemp("", "provider-example")
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The consortium: an embedded ledger with one provider and an open period.
	store, _ := accounting.OpenEmbedded(filepath.Join(dir, "ledger.db"), accounting.EmbeddedConfig{})
	defer store.Close()
	regulator, _ := store.As(accounting.DefaultRegulator)
	bank, _ := store.As("Bank1MSP")
	_ = regulator.AddInstitution(ctx, "Bank1MSP", "Bank One", []accounting.Role{accounting.RoleProvider})
	_ = regulator.SetPrice(ctx, "black", 2)
	_, _ = regulator.Rollover(ctx)

	signingKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	oprfKey, _ := oprf.GenerateKey(nil)
	const list = "phone,cat,reason,listed\n+8613800138000,1,7,2024-03-01\n"
	source, _ := lists.NewDelimited(func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(list)), nil },
		lists.DelimitedConfig{Mapping: lists.Mapping{ID: "phone", FixedType: "phone", Category: "cat", Reason: "reason", Listed: "listed"}})
	db, _ := bolt.Open(filepath.Join(dir, "node.db"), 0o600, nil)
	defer db.Close()

	directory := registry.New(bank, registry.Options{})
	_ = directory.Refresh(ctx)
	p, err := provider.New(provider.Config{
		MSPID:     "Bank1MSP",
		Ledger:    bank,
		Directory: directory,
		Keys:      map[string]*oprf.PrivateKey{"black": oprfKey},
		Sign:      ecsig.NewSigner(signingKey, rand.Reader),
		DB:        db,
		DataDir:   filepath.Join(dir, "data"),
		Sources:   []provider.Source{{Name: "black-csv", Category: "black", Code: 1, Source: source}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	changed := p.CatalogChanges()
	go p.Run(ctx)
	<-changed // the period's catalog is built and published (or failed)

	resp := p.Handle(ctx, peer.Identity{MSPID: "Bank2MSP"}, &riskmeshv1.PeerRequest{
		Body: &riskmeshv1.PeerRequest_CatalogInfo{CatalogInfo: &riskmeshv1.CatalogInfoRequest{
			Provider: "Bank1MSP", Category: "black", Period: 1,
		}},
	})
	published, _ := bank.Catalog(ctx, "Bank1MSP", "black", 1)
	info := resp.GetCatalogInfo()
	fmt.Println("items:", info.GetItems(), "digest on the ledger:", string(info.GetDigest()) == string(published.Digest))
	// Output: items: 1 digest on the ledger: true
}
