package push

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/internal/groupcommit"
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

// BenchmarkDeliveryBesideHeldFolds measures how fast a destination drains
// a queue while a requester's log keeps node.db's writer busy: a writer
// logs a small record through internal/groupcommit every 2 ms (a steady
// stream of one-identifier queries), so a fold is held open most of the
// time, and the outbox delivers b.N events recorded beforehand to a local
// webhook. It reports events delivered per second (docs/benchmarks.md,
// "Folds held for 40 ms").
func BenchmarkDeliveryBesideHeldFolds(b *testing.B) {
	bucket := []byte("bench/stream")
	write := func(tx *bolt.Tx, rec []byte) error {
		bk, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		return bk.Put([]byte("last"), rec)
	}
	db := openDB(b, b.TempDir())
	commits, err := groupcommit.Open(db, "bench", write)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = commits.Close() })
	rc := newReceiver(b)
	o, err := Open(Config{DB: db, MSPID: "BankA", Destinations: []Destination{{Name: "hook", Sender: rc.webhook(b)}}})
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		record(b, o, providerPart(fmt.Sprintf("q%d", i), "P1", 1))
	}
	ctx, cancel := context.WithCancel(b.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for n := uint64(0); ctx.Err() == nil; n++ {
			rec := binary.BigEndian.AppendUint64(nil, n)
			if err := commits.Log(rec, func(tx *bolt.Tx) error { return write(tx, rec) }); err != nil {
				b.Error(err)
				return
			}
			select {
			case <-ctx.Done():
			case <-t.C:
			}
		}
	})
	time.Sleep(10 * time.Millisecond) // the stream holds its first fold
	b.ResetTimer()
	start := time.Now()
	wg.Go(func() { _ = o.Run(ctx) })
	for o.Stats()[0].Delivered < uint64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.StopTimer()
	cancel()
	wg.Wait()
}
