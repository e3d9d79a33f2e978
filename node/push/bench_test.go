package push

import (
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// BenchmarkRecordTx measures journalling one query event with 100 hits in
// its own committed transaction, plain and sealed: what sealing adds to a
// query's push journal (docs/benchmarks.md).
func BenchmarkRecordTx(b *testing.B) {
	ring, err := seal.Create(b.TempDir()+"/"+seal.KeyringFile, seal.PassphraseKEK("bench"), nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ring *seal.Keyring
	}{{"plain", nil}, {"sealed", ring}} {
		b.Run(c.name, func(b *testing.B) {
			rc := newReceiver(b)
			o, err := Open(Config{DB: openDB(b, b.TempDir()), MSPID: "BankA", Seal: c.ring,
				Destinations: []Destination{{Name: "hook", Sender: rc.webhook(b)}}})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				ev := providerPart(fmt.Sprintf("q%d", i), "P1", 1)
				for j := range 100 {
					ev.ProviderResult.Hits = append(ev.ProviderResult.Hits,
						&riskmeshv1.ProviderHit{Index: uint32(j), Label: &riskmeshv1.Label{CategoryCode: 1, ReasonCode: 7, ListedDate: "2024-03-01"}})
				}
				if err := o.cfg.DB.Update(func(tx *bolt.Tx) error { return o.RecordTx(tx, ev) }); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
