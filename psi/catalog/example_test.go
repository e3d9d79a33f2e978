package catalog_test

import (
	"bytes"
	"crypto/sha512"
	"fmt"

	"github.com/riskmesh/riskmesh/psi/catalog"
)

// prfOutput stands in for the OPRF output of an identifier (psi/oprf
// produces 64-byte ristretto255-SHA512 outputs).
func prfOutput(id string) []byte {
	sum := sha512.Sum512([]byte(id))
	return sum[:]
}

// The provider adds the PRF output of each listed identifier with its
// label and builds the catalog; a requester holding the PRF output of one
// of its own identifiers looks it up.
func Example() {
	meta := catalog.Meta{
		Suite:    "ristretto255-SHA512",
		Provider: "BankAMSP",
		Category: "black",
		Period:   20260115,
	}
	b, err := catalog.NewBuilder(meta, 2)
	if err != nil {
		panic(err)
	}
	listed, _ := catalog.ParseDate("2026-01-02")
	for i, id := range []string{"phone:+8613800138000", "card:6222020000000000000"} {
		label := catalog.Label{Category: 1, Reason: 17, Listed: listed, Reference: [8]byte{'C', 'A', 'S', 'E', 0, 0, 0, byte(i)}}
		if err := b.Add(prfOutput(id), label); err != nil {
			panic(err)
		}
	}
	c, err := b.Build(nil) // seeds from crypto/rand
	if err != nil {
		panic(err)
	}

	if l, ok := c.Lookup(prfOutput("phone:+8613800138000")); ok {
		fmt.Printf("listed: category %d, reason %d, since %s\n", l.Category, l.Reason, l.Listed)
	}
	if _, ok := c.Lookup(prfOutput("phone:+8613900139000")); !ok {
		fmt.Println("not listed")
	}
	// Output:
	// listed: category 1, reason 17, since 2026-01-02
	// not listed
}

// The provider publishes the digest Encode returns on the ledger; the
// requester decodes the downloaded bytes against it.
func ExampleDecode() {
	b, err := catalog.NewBuilder(catalog.Meta{Suite: "ristretto255-SHA512", Provider: "BankAMSP", Category: "grey", Period: 7}, 1)
	if err != nil {
		panic(err)
	}
	if err := b.Add(prfOutput("device:abc123"), catalog.Label{Category: 2}); err != nil {
		panic(err)
	}
	c, err := b.Build(nil)
	if err != nil {
		panic(err)
	}
	var published bytes.Buffer
	digest, err := c.Encode(&published)
	if err != nil {
		panic(err)
	}

	got, err := catalog.Decode(&published, catalog.DecodeConfig{ExpectedDigest: &digest})
	if err != nil {
		panic(err)
	}
	l, ok := got.Lookup(prfOutput("device:abc123"))
	fmt.Println(got.Meta().Provider, got.Meta().Category, got.Len(), l.Category, ok)
	// Output: BankAMSP grey 1 2 true
}
