package ledgerrelay_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/node/ledgerrelay"
	"github.com/riskmesh/riskmesh/node/peer"
)

// The regulator's node hosts the embedded ledger and serves the relay; a
// bank's node reaches the ledger through it and acts as itself only.
func Example() {
	dir, _ := os.MkdirTemp("", "ledgerrelay-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store, _ := accounting.OpenEmbedded(filepath.Join(dir, "ledger.db"), accounting.EmbeddedConfig{})
	defer store.Close()
	regulator, _ := store.As(accounting.DefaultRegulator)
	_ = regulator.AddInstitution(ctx, "Bank1MSP", "Bank One", []accounting.Role{accounting.RoleRequester})

	// In a node the Authorizer is the registry (node/registry); here a map.
	// Self-signed certificates, pinned by fingerprint (node/identity makes
	// a node's).
	regCert, _ := selfsigned.New(accounting.DefaultRegulator, nil, nil, time.Now())
	bankCert, _ := selfsigned.New("Bank1MSP", nil, nil, time.Now())
	known := map[peer.Fingerprint]string{
		peer.FingerprintOf(regCert.Certificate[0]):  accounting.DefaultRegulator,
		peer.FingerprintOf(bankCert.Certificate[0]): "Bank1MSP",
	}
	auth := peer.AuthorizerFunc(func(fp [32]byte) (string, error) {
		if msp, ok := known[fp]; ok {
			return msp, nil
		}
		return "", errors.New("unknown")
	})
	srv, err := peer.Listen(ctx, "127.0.0.1:0", peer.Config{
		Certificate: regCert, Authorizer: auth,
		Handler: ledgerrelay.NewHandler(store, nil).Route(nil),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	conn, err := peer.Dial(ctx, srv.Addr().String(), peer.Config{Certificate: bankCert, Authorizer: auth})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	bank := accounting.NewClient(ledgerrelay.NewInvoker(conn.Do))

	fmt.Println(bank.UpdateProfile(ctx, accounting.Profile{Endpoint: "bank1.example:7443"}))
	err = bank.SetLimit(ctx, "Bank1MSP", 1_000_000) // the regulator's call
	fmt.Println(errors.Is(err, accounting.ErrForbidden))
	// Output:
	// <nil>
	// true
}
