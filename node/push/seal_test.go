package push

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/node/seal/sealtest"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// hitPart is a query event whose provider part carries a hit with a
// recognisable listing date, so the test can look for it in node.db.
func hitPart(id string) *riskmeshv1.PushEvent {
	ev := providerPart(id, "P1", 1)
	ev.ProviderResult.Hits = []*riskmeshv1.ProviderHit{{Index: 7, Label: &riskmeshv1.Label{CategoryCode: 1, ListedDate: "2019-03-14"}}}
	return ev
}

// fileHolds reports whether the closed bbolt file in dir holds needle.
func fileHolds(t *testing.T, dir string, needle []byte) bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(data, needle)
}

// With sealing on, a journalled event's per-item hits are not in node.db
// in plain, and a restarted outbox under the same keyring delivers it as
// recorded.
func TestSealedEvents(t *testing.T) {
	ring, dir := sealtest.Keyring(t), t.TempDir()
	db := openDB(t, dir)
	rc := newReceiver(t)
	o, err := Open(Config{DB: db, MSPID: "BankA", Seal: ring, Destinations: []Destination{{Name: "hook", Sender: rc.webhook(t)}}})
	if err != nil {
		t.Fatal(err)
	}
	ev := record(t, o, hitPart("q1"))
	hits, err := proto.Marshal(ev.ProviderResult)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if fileHolds(t, dir, hits) || fileHolds(t, dir, []byte("2019-03-14")) {
		t.Fatal("node.db holds a journalled event's hits in plain")
	}
	start(t, Config{DB: openDB(t, dir), Seal: ring, Destinations: []Destination{{Name: "hook", Sender: rc.webhook(t)}}})
	if got := delivered(t, rc, 1); !proto.Equal(got[0], ev) {
		t.Fatalf("delivered %v, want %v", got[0], ev)
	}
}

// TestAdversarySealedEventSwapped plays whoever edits node.db of a sealing
// node: two journalled events of different queries swapped under each
// other's keys do not open, so neither is delivered as the other (a hit
// reported under another query), and both go to the dead store.
func TestAdversarySealedEventSwapped(t *testing.T) {
	ring, db := sealtest.Keyring(t), openDB(t, t.TempDir())
	rc := newReceiver(t)
	o, err := Open(Config{DB: db, MSPID: "BankA", Seal: ring, Destinations: []Destination{{Name: "hook", Sender: rc.webhook(t)}}})
	if err != nil {
		t.Fatal(err)
	}
	record(t, o, hitPart("q1"))
	record(t, o, providerPart("q2", "P1", 1))
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		k1, v1 := b.Cursor().First()
		k2, v2 := b.Cursor().Last()
		k1, v1, k2, v2 = bytes.Clone(k1), bytes.Clone(v1), bytes.Clone(k2), bytes.Clone(v2)
		if err := b.Put(k1, v2); err != nil {
			return err
		}
		return b.Put(k2, v1)
	})
	if err != nil {
		t.Fatal(err)
	}
	o2 := start(t, Config{DB: db, Seal: ring, Destinations: []Destination{{Name: "hook", Sender: rc.webhook(t)}}})
	statsUntil(t, o2, func(s Stats) bool { return s.Dead == 2 && s.Depth == 0 })
	if got := rc.deliveries(); len(got) != 0 {
		t.Fatalf("swapped events delivered: %v", got)
	}
	dead, err := o2.Dead("hook", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dead {
		if !strings.Contains(d.LastError, "does not authenticate") {
			t.Fatalf("dead record %v, want the seal's refusal", d)
		}
	}
}

// SealStore seals the events a node.db journalled before sealing was
// turned on, and an outbox under the keyring delivers them; the same
// values read without the keyring no longer decode as events.
func TestSealStoreSealsJournal(t *testing.T) {
	ring, dir := sealtest.Keyring(t), t.TempDir()
	db := openDB(t, dir)
	rc := newReceiver(t)
	o, err := Open(Config{DB: db, MSPID: "BankA", Destinations: []Destination{{Name: "hook", Sender: rc.webhook(t)}}})
	if err != nil {
		t.Fatal(err)
	}
	ev := record(t, o, hitPart("q1"))
	if err := db.Update(func(tx *bolt.Tx) error { return SealStore(tx, ring) }); err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		_, v := tx.Bucket(bucketEvents).Cursor().First()
		_, err := decodeStored(v)
		return err
	})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("sealed event read in plain: %v, want ErrCorrupt", err)
	}
	start(t, Config{DB: db, Seal: ring, Destinations: []Destination{{Name: "hook", Sender: rc.webhook(t)}}})
	if got := delivered(t, rc, 1); !proto.Equal(got[0], ev) {
		t.Fatalf("delivered %v, want %v", got[0], ev)
	}
}
