package requester_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/node/mirror"
	"github.com/riskmesh/riskmesh/node/outbound"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/node/requester"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// institution is what a node holds: TLS certificate, transcript-signing
// key, and its own bbolt file.
type institution struct {
	cert tls.Certificate
	sign ecsig.Sign
	pub  []byte
	db   *bolt.DB
}

func newInstitution(dir, msp string) institution {
	// A self-signed certificate, pinned by fingerprint (node/identity makes
	// a node's).
	cert, _ := selfsigned.New(msp, nil, nil, time.Now())
	sigKey, pub, _ := ecsig.GenerateKey(rand.Reader)
	db, _ := bolt.Open(filepath.Join(dir, "node.db"), 0o600, nil)
	return institution{cert, ecsig.NewSigner(sigKey, rand.Reader), pub, db}
}

func (i institution) fingerprint() []byte {
	fp := peer.FingerprintOf(i.cert.Certificate[0])
	return fp[:]
}

// A bank asks the one provider of the "black" list about two customers.
// Both nodes share one embedded ledger and one registry cache here; in a
// network each node has its own, reaching the ledger through the relay.
func Example() {
	dir, _ := os.MkdirTemp("", "requester-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store, _ := accounting.OpenEmbedded(filepath.Join(dir, "ledger.db"), accounting.EmbeddedConfig{})
	defer store.Close()
	regulator, _ := store.As(accounting.DefaultRegulator)
	bankLedger, _ := store.As("BankMSP")
	provLedger, _ := store.As("ListCoMSP")
	_ = regulator.AddInstitution(ctx, "BankMSP", "Bank", []accounting.Role{accounting.RoleRequester})
	_ = regulator.AddInstitution(ctx, "ListCoMSP", "List Co", []accounting.Role{accounting.RoleProvider})
	_ = regulator.SetPrice(ctx, "black", 1)
	_ = regulator.SetLimit(ctx, "BankMSP", 1000)
	dirs := registry.New(bankLedger, registry.Options{Refresh: 20 * time.Millisecond})

	// The provider's node: its list, its OPRF key, its QUIC listener.
	os.MkdirAll(filepath.Join(dir, "listco"), 0o700)
	prov := newInstitution(filepath.Join(dir, "listco"), "ListCoMSP")
	defer prov.db.Close()
	list := "phone,code,reason,listed\n+8613800138000,1,7,2026-01-15\n"
	src, _ := lists.NewDelimited(func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(list)), nil },
		lists.DelimitedConfig{Mapping: lists.Mapping{ID: "phone", FixedType: "phone", Category: "code", Reason: "reason", Listed: "listed"}})
	key, _ := oprf.GenerateKey(nil)
	p, _ := provider.New(provider.Config{
		MSPID: "ListCoMSP", Ledger: provLedger, Directory: dirs, Keys: map[string]*oprf.PrivateKey{"black": key},
		Sign: prov.sign, DB: prov.db, DataDir: filepath.Join(dir, "listco"),
		Sources: []provider.Source{{Name: "black", Category: "black", Code: 1, Source: src}},
	})
	srv, _ := peer.Listen(ctx, "127.0.0.1:0", peer.Config{Certificate: prov.cert, Authorizer: dirs, Handler: p.Handle})
	defer srv.Close()
	_ = provLedger.UpdateProfile(ctx, accounting.Profile{Endpoint: srv.Addr().String(), TLSFingerprint: prov.fingerprint(), SigningKey: prov.pub})

	// The bank's node: the requester.
	os.MkdirAll(filepath.Join(dir, "bank"), 0o700)
	bank := newInstitution(filepath.Join(dir, "bank"), "BankMSP")
	defer bank.db.Close()
	_ = bankLedger.UpdateProfile(ctx, accounting.Profile{Endpoint: "127.0.0.1:1", TLSFingerprint: bank.fingerprint(), SigningKey: bank.pub})
	// Its catalog mirror and query execution share one connection per
	// provider.
	conns := outbound.New(outbound.PeerDialer(peer.Config{Certificate: bank.cert, Authorizer: dirs}), 0)
	defer conns.Close()
	catalogs, err := mirror.New(mirror.Config{
		MSPID: "BankMSP", Directory: dirs, Send: conns.Do, CatalogDir: filepath.Join(dir, "bank", "catalogs"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := requester.New(requester.Config{
		MSPID: "BankMSP", Directory: dirs, Ledger: bankLedger, Conns: conns,
		Sign: bank.sign, DB: bank.db, Catalogs: catalogs,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	// Period 1 opens; the provider publishes its catalog, the bank's node
	// downloads and verifies it.
	_, _ = regulator.Rollover(ctx)
	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	defer func() { stop(); running.Wait() }()
	running.Go(func() { dirs.Run(runCtx) })
	running.Go(func() { _ = p.Run(runCtx) })
	running.Go(func() { _ = catalogs.Run(runCtx) })
	running.Go(func() { _ = r.Run(runCtx) })
	timeout := time.After(time.Minute)
	for {
		changed := catalogs.Changes()
		if c := catalogs.RemoteCatalogs(); len(c) == 1 && c[0].State == riskmeshv1.CatalogState_CATALOG_STATE_READY {
			break
		}
		select {
		case <-changed:
		case <-timeout:
			fmt.Println("no catalog:", catalogs.RemoteCatalogs())
			return
		}
	}

	err = r.Query(ctx, &riskmeshv1.QueryRequest{Category: "black", Identifiers: []*riskmeshv1.Identifier{
		{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: "+86 138 0013 8000"},
		{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: "+86 139 0000 0000"},
	}}, func(ev *riskmeshv1.QueryEvent) error {
		switch b := ev.GetBody().(type) {
		case *riskmeshv1.QueryEvent_ProviderResult:
			fmt.Println(b.ProviderResult.Provider, b.ProviderResult.Status, "billed", b.ProviderResult.Amount)
		case *riskmeshv1.QueryEvent_Result:
			for _, item := range b.Result.Items {
				for _, h := range item.Hits {
					fmt.Println("identifier", item.Index, "listed by", h.Provider, "reason", h.Label.ReasonCode, "since", h.Label.ListedDate)
				}
			}
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// ListCoMSP PROVIDER_STATUS_ANSWERED billed 2
	// identifier 0 listed by ListCoMSP reason 7 since 2026-01-15
}
