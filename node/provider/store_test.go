package provider

import (
	"bytes"
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/internal/largevalue"
)

// phones returns n distinct canonical phone numbers.
func phones(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("+86139%08d", i)
	}
	return out
}

// pageAlloc is the bytes of pages db's committed transactions allocated.
func pageAlloc(db *bolt.DB) int64 {
	s := db.Stats()
	return s.TxStats.GetPageAlloc()
}

// An answer's journal commit writes its own transcript and the small
// records beside it, not the transcripts answered before it. Stored as
// plain values, 1,000-item transcripts (about 66 KB each) shared leaf
// pages two to four at a time, since bbolt never splits a leaf of four
// keys or fewer, and every commit wrote at least four of them again.
func TestAnswerCommitWritesItsTranscriptAlone(t *testing.T) {
	f := newFixture(t, nil)
	batch := phones(1000)
	for i := range 8 {
		q := f.newQuery(1, 0, batch...)
		before := pageAlloc(f.db)
		if f.handle(q.req).GetEvaluate() == nil {
			t.Fatalf("answer %d refused", i)
		}
		must(t, f.p.Settle())
		written := pageAlloc(f.db) - before
		var size int64
		must(t, f.db.View(func(tx *bolt.Tx) error {
			size = int64(len(largevalue.Get(tx.Bucket(bucketTranscripts), exchangeKey(q.header))))
			return nil
		}))
		if size < 1000*2*32 {
			t.Fatalf("answer %d: stored transcript of %d bytes, want the 1,000 items' elements", i, size)
		}
		if written > size*3/2 {
			t.Errorf("answer %d: its commit wrote %d bytes of pages for a %d-byte transcript", i, written, size)
		}
	}
}

// A node.db written before transcripts had buckets of their own holds
// them as plain values: a retry still gets that stored answer without a
// second bill, Transcript returns it, SealStore seals it and retention
// deletes it, beside transcripts stored the new way.
func TestTranscriptStoredAsAPlainValue(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RetainPeriods = 2 })
	old, cur := f.newQuery(1, 0, phone), f.newQuery(1, 0, phone)
	first := f.handle(old.req).GetEvaluate()
	if first == nil || f.handle(cur.req).GetEvaluate() == nil {
		t.Fatal("evaluate refused")
	}
	key := exchangeKey(old.header)
	must(t, f.db.Update(func(tx *bolt.Tx) error { // as an older node stored it
		b := tx.Bucket(bucketTranscripts)
		v := bytes.Clone(largevalue.Get(b, key))
		if err := largevalue.Delete(b, key); err != nil {
			return err
		}
		return b.Put(key, v)
	}))
	again := f.handle(old.req).GetEvaluate()
	if again == nil || !bytes.Equal(again.GetResponderSignature(), first.GetResponderSignature()) {
		t.Fatal("a retry of an answer stored as a plain value did not get it")
	}
	if d := f.p.OutboxDepth(); d != 2 {
		t.Fatalf("outbox depth %d after a retry, want 2", d)
	}

	tweak := sealed(t)
	tweak(&f.p.cfg)
	must(t, f.db.Update(func(tx *bolt.Tx) error { return SealStore(tx, f.p.cfg.Seal) }))
	for _, q := range []*query{old, cur} {
		got, err := f.p.Transcript(1, q.header.Sequence, requesterMSP)
		if err != nil || got == nil {
			t.Fatalf("sealed transcript of sequence %d: %v, %v", q.header.Sequence, got, err)
		}
	}

	must(t, f.p.pruneTranscripts(3))
	must(t, f.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketTranscripts).Cursor().First(); k != nil {
			t.Errorf("transcript %x left after its period fell out of retention", k)
		}
		return nil
	}))
}
