package dispute_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/internal/testclock"
	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/node/seal/sealtest"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// newSealedAuto is newAuto with the records sealed under ring.
func newSealedAuto(t *testing.T, n *network, ring *seal.Keyring) *autoFixture {
	t.Helper()
	f := &autoFixture{n: n, clock: testclock.New(time.Unix(1_800_000_000, 0)), path: filepath.Join(t.TempDir(), "node.db"), ring: ring}
	f.open(t, f.client(t))
	return f
}

func (f *autoFixture) client(t *testing.T) *dispute.Client {
	t.Helper()
	_, filer := f.n.client(t, audittest.Requester)
	dc, err := dispute.New(dispute.Config{Ledger: f.n.c.Requester.Ledger, Auditor: filer, AuditorMSP: audittest.Regulator})
	if err != nil {
		t.Fatal(err)
	}
	return dc
}

// With sealing on, a dispute record's transcript is not in node.db in
// plain; the dispute is settled as without sealing and read back after a
// restart.
func TestAutoDisputeSealed(t *testing.T) {
	n := newNetwork(t, embedded)
	f := newSealedAuto(t, n, sealtest.Keyring(t))
	bad := n.c.Exchange(t, audittest.CorruptElement, audittest.Identifiers...)
	n.c.Record(t, bad)
	if err := f.auto.Enqueue(bad, "proof failed"); err != nil {
		t.Fatal(err)
	}
	if pending := f.auto.Process(audittest.Context(t)); pending != 0 {
		t.Fatalf("%d pending, want 0", pending)
	}
	wantState(t, f.state(t, bad), riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED)
	file, err := bad.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	f.db.Close()
	data, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, file[len(file)/2:]) {
		t.Fatal("node.db holds a disputed transcript in plain")
	}
	f.open(t, f.client(t))
	wantState(t, f.state(t, bad), riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED)
}

// TestAdversarySealedDisputeSwapped plays whoever edits node.db of a
// sealing requester: two dispute records swapped under each other's entry
// keys do not open, so neither is filed or reported as the other entry's.
func TestAdversarySealedDisputeSwapped(t *testing.T) {
	n := newNetwork(t, embedded)
	f := newSealedAuto(t, n, sealtest.Keyring(t))
	one := n.c.Exchange(t, audittest.WrongKey, audittest.Identifiers...)
	two := n.c.Exchange(t, audittest.CorruptElement, audittest.Identifiers...)
	if err := f.auto.Enqueue(one, "proof failed"); err != nil {
		t.Fatal(err)
	}
	if err := f.auto.Enqueue(two, "proof failed"); err != nil {
		t.Fatal(err)
	}
	k1, k2 := []byte(audit.KeyOf(&one.Header).String()), []byte(audit.KeyOf(&two.Header).String())
	err := f.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("dispute/records"))
		v1, v2 := bytes.Clone(b.Get(k1)), bytes.Clone(b.Get(k2))
		if err := b.Put(k1, v2); err != nil {
			return err
		}
		return b.Put(k2, v1)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []accounting.EntryKey{audit.KeyOf(&one.Header), audit.KeyOf(&two.Header)} {
		if _, err := f.auto.State(k); !errors.Is(err, seal.ErrOpen) {
			t.Fatalf("swapped record read: %v, want seal.ErrOpen", err)
		}
	}
	if pending := f.auto.Process(audittest.Context(t)); pending != 0 {
		t.Fatalf("%d swapped records filed as pending, want none", pending)
	}
}

// dispute.SealStore seals the records of a node.db written before sealing
// was on; an Auto under the keyring reads them, one without it does not.
func TestSealStoreSealsDisputes(t *testing.T) {
	n := newNetwork(t, embedded)
	f := newAuto(t, n, down{})
	bad := n.c.Exchange(t, audittest.WrongKey, audittest.Identifiers...)
	if err := f.auto.Enqueue(bad, "proof failed"); err != nil {
		t.Fatal(err)
	}
	ring := sealtest.Keyring(t)
	if err := f.db.Update(func(tx *bbolt.Tx) error { return dispute.SealStore(tx, ring) }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auto.State(audit.KeyOf(&bad.Header)); err == nil {
		t.Fatal("a sealed record decoded without the keyring")
	}
	f.db.Close()
	f.ring = ring
	f.open(t, f.client(t))
	wantState(t, f.state(t, bad), riskmeshv1.DisputeState_DISPUTE_STATE_PENDING)
}
