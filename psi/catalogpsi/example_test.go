package catalogpsi_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// A provider catalogs its black list for period 42; a requester checks two
// customers against it. In production the catalog travels over QUIC, its
// digest and the OPRF public key come from the ledger, and each message is
// bound into a signed transcript.
func Example() {
	key, err := oprf.GenerateKey(nil)
	if err != nil {
		panic(err)
	}
	provider := catalogpsi.NewProvider("Bank1MSP", key)

	listed, _ := ident.Normalize("phone", "+86 138 0013 8000")
	listing := catalogpsi.Entry{ID: listed, Label: catalog.Label{Category: 1, Reason: 7, Listed: 20000}}
	cat, err := provider.BuildCatalog(context.Background(), nil, "black", 42,
		slices.Values([]catalogpsi.Entry{listing}), 1, nil)
	if err != nil {
		panic(err)
	}

	requester, err := catalogpsi.NewRequester("Bank1MSP", key.Public(), "black", 42, cat)
	if err != nil {
		panic(err)
	}
	customer1, _ := ident.Normalize("phone", "008613800138000")
	customer2, _ := ident.Normalize("email", "someone@example.com")
	query, blinded, err := requester.Blind(nil, []ident.ID{customer1, customer2})
	if err != nil {
		panic(err)
	}

	// The provider sees only blinded elements and answers with one proof.
	evaluator, _ := provider.Evaluator("black", 42)
	evaluated, proof, err := evaluator.BlindEvaluate(nil, blinded)
	if err != nil {
		panic(err)
	}

	results, err := requester.Resolve(query, evaluated, proof[:])
	if err != nil {
		panic(err)
	}
	for i, r := range results {
		fmt.Printf("customer %d: hit=%v reason=%d\n", i+1, r.Hit, r.Label.Reason)
	}
	// Output:
	// customer 1: hit=true reason=7
	// customer 2: hit=false reason=0
}
