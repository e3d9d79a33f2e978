package ledgerrelay_test

import (
	"context"
	"crypto/rand"
	"strconv"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/ledgertest"
	"github.com/riskmesh/riskmesh/internal/cputime"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/ledgerrelay"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/psi/transcript"
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

// BenchmarkRecord measures what a provider's outbox costs per Record call
// and per entry, on the host (Direct) and relayed over QUIC loopback with
// the daemon's admission rule (Relay): the CPU of the whole process, both
// ends and the host's fsyncs, per call and per entry. A node answering
// one query at a time sends a few entries per call (outbox.Config's
// BatchDelay decides how many), so the difference between batch sizes is
// what a longer wait saves.
func BenchmarkRecord(b *testing.B) {
	for _, via := range []string{"Direct", "Relay"} {
		for _, size := range []int{1, 5, 25, 100} {
			b.Run(via+"/batch="+strconv.Itoa(size), func(b *testing.B) {
				// The daemon's admission: the host reads the caller's
				// registry record on every call.
				var admit ledgerrelay.Admission
				n := newNetwork(b, func(ctx context.Context, from peer.Identity) error { return admit(ctx, from) })
				reg := n.direct(b, ledgertest.RegulatorMSP)
				admit = ledgerrelay.Registered(reg.Institution, n.auth)
				n.onboard(b)
				signs := map[string]ecsig.Sign{}
				for _, msp := range []string{ledgertest.Bank1MSP, ledgertest.Bank2MSP} {
					key, pub, err := ecsig.GenerateKey(rand.Reader)
					must(b, err)
					must(b, n.direct(b, msp).UpdateProfile(b.Context(), accounting.Profile{SigningKey: pub}))
					signs[msp] = ecsig.NewSigner(key, rand.Reader)
				}
				must(b, reg.SetPrice(b.Context(), "black", 2))
				_, err := reg.Rollover(b.Context())
				must(b, err)
				provider := n.direct(b, ledgertest.Bank2MSP)
				if via == "Relay" {
					provider = n.relayed(b, ledgertest.Bank2MSP)
				}
				batches := make([][]accounting.Entry, b.N)
				seq := uint64(0)
				for i := range batches {
					for range size {
						seq++
						h := &transcript.Header{
							Protocol: transcript.ProtocolCatalogOPRF, Suite: transcript.SuiteRistretto255SHA512,
							Category: "black", Period: 1, Requester: ledgertest.Bank1MSP, Responder: ledgertest.Bank2MSP,
							Sequence: seq, Count: 1,
						}
						e, err := ledgertest.SignedEntry(h, signs[ledgertest.Bank1MSP], signs[ledgertest.Bank2MSP], 2, rand.Reader)
						must(b, err)
						batches[i] = append(batches[i], e)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cputime.Self()
				for _, batch := range batches {
					outs, err := provider.Record(b.Context(), batch)
					if err != nil || outs[0].Status != accounting.OutcomeRecorded {
						b.Fatal(err, outs)
					}
				}
				cpu := float64((cputime.Self() - cpu0).Nanoseconds()) / 1e3
				b.ReportMetric(cpu/float64(b.N), "cpu-µs/call")
				b.ReportMetric(cpu/float64(b.N*size), "cpu-µs/entry")
			})
		}
	}
}
