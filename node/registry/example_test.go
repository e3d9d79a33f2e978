package registry_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/registry"
)

// A node keeps a Directory over its ledger client, uses it as the peer
// transport's Authorizer and asks it which providers serve a category.
func Example() {
	dir, _ := os.MkdirTemp("", "registry-example")
	defer os.RemoveAll(dir)
	store, _ := accounting.OpenEmbedded(filepath.Join(dir, "ledger.db"), accounting.EmbeddedConfig{})
	defer store.Close()
	ctx := context.Background()
	regulator, _ := store.As(accounting.DefaultRegulator)
	bank, _ := store.As("Bank1MSP")
	_ = regulator.AddInstitution(ctx, "Bank1MSP", "Bank One", []accounting.Role{accounting.RoleProvider})
	fp := sha256.Sum256([]byte("Bank One's TLS certificate"))
	_ = bank.UpdateProfile(ctx, accounting.Profile{Endpoint: "bank1.example:7443", TLSFingerprint: fp[:]})
	_ = bank.SetOPRFKey(ctx, "phone-black", make([]byte, 32))

	d := registry.New(bank, registry.Options{})
	if err := d.Refresh(ctx); err != nil { // a node runs d.Run(ctx) instead
		fmt.Println(err)
		return
	}
	msp, err := d.Authorize(fp)
	fmt.Println("certificate belongs to", msp, err)
	for _, p := range d.View().Providers("phone-black") {
		fmt.Println("provider", p.MSPID, "at", p.Endpoint)
	}
	// Output:
	// certificate belongs to Bank1MSP <nil>
	// provider Bank1MSP at bank1.example:7443
}
