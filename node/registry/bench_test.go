package registry_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/registry"
)

// BenchmarkAuthorize is the per-connection cost of the registry check.
func BenchmarkAuthorize(b *testing.B) {
	n := newNetwork(b)
	d := registry.New(n.banks[bank3MSP], registry.Options{})
	if err := d.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	fp := fingerprint(bank1MSP)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Authorize(fp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefresh is one refresh against the embedded ledger, by registry
// size.
func BenchmarkRefresh(b *testing.B) {
	for _, size := range []int{3, 100} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			n := newNetwork(b)
			for i := 3; i < size; i++ {
				if err := n.reg.AddInstitution(context.Background(), fmt.Sprintf("Extra%dMSP", i), "extra",
					[]accounting.Role{accounting.RoleRequester}); err != nil {
					b.Fatal(err)
				}
			}
			d := registry.New(n.banks[bank3MSP], registry.Options{})
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Refresh(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
