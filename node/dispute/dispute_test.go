package dispute_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/node/auditor"
	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/identity/identitytest"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// network is a consortium on a real embedded ledger whose regulator runs
// the auditor service on loopback, with node identities for everyone.
type network struct {
	c       *audittest.Consortium
	ids     map[string]*identity.Identity
	addr    string
	dbPath  string
	service *auditor.Service
	stop    func() // stops the auditor and closes its file
	// stored are the answers the provider produces when the auditor asks
	// for a billed one (non-delivery disputes); any other it withholds.
	stored sync.Map // accounting.EntryKey -> *transcript.Transcript
}

func loadIdentity(t *testing.T, msp string) *identity.Identity {
	t.Helper()
	return identitytest.New(t, filepath.Join(t.TempDir(), msp), msp)
}

// embedded builds the consortium on a fresh embedded ledger.
func embedded(t *testing.T, keys map[string]audittest.Keys) *audittest.Consortium {
	return audittest.New(t, t.TempDir(), keys)
}

func newNetwork(t *testing.T, consortium func(*testing.T, map[string]audittest.Keys) *audittest.Consortium) *network {
	t.Helper()
	n := &network{ids: map[string]*identity.Identity{}}
	keys := map[string]audittest.Keys{}
	for _, msp := range []string{audittest.Regulator, audittest.Requester, audittest.Provider} {
		id := loadIdentity(t, msp)
		n.ids[msp] = id
		keys[msp] = audittest.Keys{Sign: id.Sign, SigningKey: id.SigningKey, TLSFingerprint: id.Fingerprint[:]}
	}
	n.c = consortium(t, keys)

	dir := registry.New(n.c.Regulator.Ledger, registry.Options{})
	if err := dir.Refresh(audittest.Context(t)); err != nil {
		t.Fatal(err)
	}
	n.dbPath = filepath.Join(t.TempDir(), "auditor.db")
	db, err := bbolt.Open(n.dbPath, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := n.ids[audittest.Regulator]
	n.service, err = auditor.New(auditor.Config{
		MSPID: audittest.Regulator, Ledger: n.c.Regulator.Ledger, Sign: reg.Sign, DB: db, Authorizer: dir,
		Redeliver: func(_ context.Context, k accounting.EntryKey) (*transcript.Transcript, error) {
			if t, ok := n.stored.Load(k); ok {
				return t.(*transcript.Transcript), nil
			}
			return nil, errors.New("NOT_FOUND: no answer journalled")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n.addr = l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.service.Serve(ctx, l, func() *tls.Certificate { return &reg.Certificate }) }()
	stopped := false
	n.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		db.Close()
	}
	t.Cleanup(n.stop)
	return n
}

// client returns a dispute client for msp over a real mTLS connection.
func (n *network) client(t *testing.T, msp string) (*dispute.Client, riskmeshv1.AuditorClient) {
	t.Helper()
	l := n.c.Party(t, msp).Ledger
	conn, err := dispute.Dial(audittest.Context(t), l, audittest.Regulator, n.addr, n.ids[msp].Certificate)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ac := riskmeshv1.NewAuditorClient(conn)
	dc, err := dispute.New(dispute.Config{Ledger: l, Auditor: ac, AuditorMSP: audittest.Regulator})
	if err != nil {
		t.Fatal(err)
	}
	return dc, ac
}

// TestMisbehavingProvider is the end-to-end case: a provider that
// answers with a key other than its registered one, or corrupts an evaluated
// element, is disputed, the auditor upholds, the reversal lands on the
// ledger and settlement does not charge for it; an honest answer disputed
// (a label believed wrong) is rejected and stays charged.
func TestMisbehavingProvider(t *testing.T) {
	misbehavingProvider(t, newNetwork(t, embedded))
}

func misbehavingProvider(t *testing.T, n *network) {
	dc, _ := n.client(t, audittest.Requester)
	ctx := audittest.Context(t)
	ids := audittest.Identifiers

	wrongKey := n.c.Exchange(t, audittest.WrongKey, ids...)
	corrupt := n.c.Exchange(t, audittest.CorruptElement, ids...)
	honest := n.c.Exchange(t, audittest.Honest, ids...)

	t.Run("dispute before the provider records is pending", func(t *testing.T) {
		out, err := dc.Dispute(ctx, wrongKey, "proof failed")
		if err != nil {
			t.Fatal(err)
		}
		if out.Verdict.Verdict != riskmeshv1.Verdict_VERDICT_REJECTED || !out.Pending || out.Reversed {
			t.Fatalf("outcome %+v, want a pending rejection", out)
		}
	})
	keyWrong := n.c.Record(t, wrongKey)
	keyCorrupt := n.c.Record(t, corrupt)
	keyHonest := n.c.Record(t, honest)

	for name, tr := range map[string]struct {
		key accounting.EntryKey
		out func() (*dispute.Outcome, error)
	}{
		"wrong key":       {keyWrong, func() (*dispute.Outcome, error) { return dc.Dispute(ctx, wrongKey, "proof failed") }},
		"corrupt element": {keyCorrupt, func() (*dispute.Outcome, error) { return dc.Dispute(ctx, corrupt, "proof failed") }},
	} {
		t.Run(name+" upheld and reversed", func(t *testing.T) {
			out, err := tr.out()
			if err != nil {
				t.Fatal(err)
			}
			if out.Verdict.Verdict != riskmeshv1.Verdict_VERDICT_UPHELD || !out.Reversed || out.Pending {
				t.Fatalf("outcome %+v, want upheld and reversed", out)
			}
			e, err := n.c.Requester.Ledger.Entry(ctx, tr.key)
			if err != nil {
				t.Fatal(err)
			}
			if e.Reversal == nil || e.Reversal.Auditor != audittest.Regulator {
				t.Fatalf("entry reversal %+v, want reversed by the auditor", e.Reversal)
			}
		})
	}

	t.Run("filing an upheld dispute again returns the stored verdict", func(t *testing.T) {
		out, err := dc.Dispute(ctx, wrongKey, "again")
		if err != nil {
			t.Fatal(err)
		}
		if out.Verdict.Verdict != riskmeshv1.Verdict_VERDICT_UPHELD || !out.Reversed {
			t.Fatalf("outcome %+v, want the upheld verdict and the reversal already done", out)
		}
	})

	t.Run("honest answer disputed is rejected", func(t *testing.T) {
		out, err := dc.Dispute(ctx, honest, "label believed wrong")
		if err != nil {
			t.Fatal(err)
		}
		if out.Verdict.Verdict != riskmeshv1.Verdict_VERDICT_REJECTED || out.Reversed || out.Pending {
			t.Fatalf("outcome %+v, want rejected", out)
		}
		e, err := n.c.Requester.Ledger.Entry(ctx, keyHonest)
		if err != nil {
			t.Fatal(err)
		}
		if e.Reversal != nil {
			t.Fatal("honest entry reversed")
		}
	})

	// A provider bills an answer it never delivered and cannot produce it:
	// the non-delivery is upheld and reversed through the contract. The
	// honest provider produces its billed answer: rejected, and the
	// requester gets the transcript.
	undelivered := n.c.Exchange(t, audittest.Honest, ids...)
	keyUndelivered := n.c.Record(t, undelivered)
	n.stored.Store(keyHonest, honest)
	t.Run("undelivered answer: non-delivery upheld and reversed", func(t *testing.T) {
		out, err := dc.NonDelivery(ctx, keyUndelivered, "answer never delivered")
		if err != nil {
			t.Fatal(err)
		}
		if out.Verdict.Verdict != riskmeshv1.Verdict_VERDICT_UPHELD || !out.Reversed || out.Produced != nil {
			t.Fatalf("outcome %+v, want upheld and reversed", out)
		}
		e, err := n.c.Requester.Ledger.Entry(ctx, keyUndelivered)
		if err != nil || e.Reversal == nil {
			t.Fatalf("entry %+v, %v: want reversed", e, err)
		}
	})
	t.Run("delivered answer: non-delivery rejected, the answer returned", func(t *testing.T) {
		out, err := dc.NonDelivery(ctx, keyHonest, "answer never delivered")
		if err != nil {
			t.Fatal(err)
		}
		if out.Verdict.Verdict != riskmeshv1.Verdict_VERDICT_REJECTED || out.Reversed || out.Produced == nil ||
			audit.KeyOf(&out.Produced.Header) != keyHonest {
			t.Fatalf("outcome %+v, want rejected with the billed transcript", out)
		}
	})

	t.Run("settlement charges only the honest answer", func(t *testing.T) {
		net := n.c.Settle(t)
		want := int64(len(ids)) * audittest.Price
		if net[audittest.Requester] != -want || net[audittest.Provider] != want {
			t.Fatalf("net changes %v, want requester -%d and provider +%d", net, want, want)
		}
	})

	t.Run("auditor store holds no identifiers", func(t *testing.T) {
		rec, err := n.service.Dispute(1)
		if err != nil || rec == nil {
			t.Fatalf("dispute 1: %v, %v", rec, err)
		}
		n.stop()
		data, err := os.ReadFile(n.dbPath)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte(transcript.Magic)) {
			t.Fatal("the auditor's file holds no transcript; the search below would prove nothing")
		}
		if audittest.Contains(data, ids) {
			t.Fatal("the auditor's file contains a requester identifier")
		}
	})
}
