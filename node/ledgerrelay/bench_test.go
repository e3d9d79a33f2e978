package ledgerrelay_test

import (
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/ledgertest"
)

// BenchmarkCall compares a ledger call made on the host with the same call
// relayed over QUIC loopback, so the relay's own cost is the difference.
func BenchmarkCall(b *testing.B) {
	for _, via := range []string{"Direct", "Relay"} {
		b.Run(via, func(b *testing.B) {
			n := newNetwork(b, nil)
			n.onboard(b)
			var bank accounting.Ledger
			if via == "Direct" {
				bank = n.direct(b, ledgertest.Bank1MSP)
			} else {
				bank = n.relayed(b, ledgertest.Bank1MSP)
			}
			b.Run("Evaluate/GetInstitution", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := bank.Institution(b.Context(), ledgertest.Bank1MSP); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Submit/UpdateProfile", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := bank.UpdateProfile(b.Context(), accounting.Profile{Endpoint: "bank1.example:7443"}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
