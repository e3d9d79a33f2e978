package recon

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/auditor"
	"github.com/riskmesh/riskmesh/node/outbox"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// The billing rig's lists: n = 300 requester rows, m = 500 responder rows.
const (
	billReqRows, billRespRows = 300, 500
	billItems                 = billReqRows + billRespRows
)

// rig is a responder node (audittest.Provider) billing through an outbox
// in its node.db, and a requester node (audittest.Requester) that reaches
// the responder's Handle directly, both on the embedded ledger in dir.
type rig struct {
	store     *accounting.EmbeddedStore
	db        *bolt.DB // the responder's node.db, with its outbox
	reqDB     *bolt.DB // the requester's
	ob        *outbox.Outbox
	req, resp *Node
	period    uint64
	// tamper, if set, changes the responder's answers on their way.
	tamper func(req *riskmeshv1.PeerRequest, resp *riskmeshv1.PeerResponse) *riskmeshv1.PeerResponse
}

// rigKeyFile is where the parent leaves an institution's signing key for
// a child process.
func rigKeyFile(dir, msp string) string { return filepath.Join(dir, msp+".key") }

// openRig opens the ledger and node.db in dir and the two nodes;
// wrapBill, if set, wraps the responder's JournalBill.
func openRig(dir string, wrapBill func(Bill) Bill) (*rig, error) {
	store, err := accounting.OpenEmbedded(filepath.Join(dir, "ledger.db"), accounting.EmbeddedConfig{})
	if err != nil {
		return nil, err
	}
	r := &rig{store: store}
	ledgers := map[string]accounting.Ledger{}
	signs := map[string]ecsig.Sign{}
	for _, msp := range []string{audittest.Requester, audittest.Provider} {
		if ledgers[msp], err = store.As(msp); err != nil {
			return nil, errors.Join(err, r.close())
		}
		der, err := os.ReadFile(rigKeyFile(dir, msp))
		if err != nil {
			return nil, errors.Join(err, r.close())
		}
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, errors.Join(err, r.close())
		}
		signs[msp] = ecsig.NewSigner(k.(*ecdsa.PrivateKey), rand.Reader)
	}
	prov := ledgers[audittest.Provider]
	cur, err := prov.Period(context.Background(), 0)
	if err != nil {
		return nil, errors.Join(err, r.close())
	}
	r.period = cur.Number
	if r.db, err = bolt.Open(filepath.Join(dir, "node.db"), 0o600, nil); err != nil {
		return nil, errors.Join(err, r.close())
	}
	if r.reqDB, err = bolt.Open(filepath.Join(dir, "requester.db"), 0o600, nil); err != nil {
		return nil, errors.Join(err, r.close())
	}
	if r.ob, err = outbox.Open(r.db, outbox.Config{Ledger: prov}); err != nil {
		return nil, errors.Join(err, r.close())
	}
	keys := func(ctx context.Context, msp string, period uint64) ([][]byte, error) {
		inst, err := prov.Institution(ctx, msp)
		if err != nil {
			return nil, err
		}
		return inst.SigningKeysIn(period), nil
	}
	bill := JournalBill(r.ob, prov.Period)
	if wrapBill != nil {
		bill = wrapBill(bill)
	}
	if r.resp, err = New(Config{MSPID: audittest.Provider, Sign: signs[audittest.Provider], Keys: keys, Dir: filepath.Join(dir, "provider"), DB: r.db,
		Lists:  []List{{Name: "loans", Category: audittest.Category, Code: 1, Source: phones(200, 200+billRespRows)}},
		Grants: grantAll(audittest.Requester), Bill: bill}); err != nil {
		return nil, errors.Join(err, r.close())
	}
	if r.req, err = New(Config{MSPID: audittest.Requester, Sign: signs[audittest.Requester], Keys: keys, Dir: filepath.Join(dir, "requester"), DB: r.reqDB,
		Lists: []List{{Name: "mine", Category: audittest.Category, Code: 1, Source: phones(0, billReqRows)}}, ChunkSize: 128}); err != nil {
		return nil, errors.Join(err, r.close())
	}
	return r, nil
}

func (r *rig) close() error {
	var errs []error
	for _, db := range []*bolt.DB{r.db, r.reqDB} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(append(errs, r.store.Close())...)
}

// reconcile runs reconciliation seq, the requester reaching the
// responder's Handle in process.
func (r *rig) reconcile(ctx context.Context, seq uint64) (*Result, error) {
	send := func(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
		resp := r.resp.Handle(ctx, peer.Identity{MSPID: audittest.Requester}, req)
		if r.tamper != nil {
			resp = r.tamper(req, resp)
		}
		if e := resp.GetError(); e != nil {
			return nil, fmt.Errorf("refused: %s", e.GetMessage())
		}
		return resp, nil
	}
	return r.req.Reconcile(ctx, send, Request{Responder: audittest.Provider, List: "mine", PeerList: "loans",
		Protocol: transcript.ProtocolECDHBothLearn, Period: r.period, Sequence: seq})
}

// newRigDir registers the consortium on a ledger file in a fresh
// directory, with a reconciliation price, and leaves both parties' signing
// keys there.
func newRigDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	keys := map[string]audittest.Keys{}
	for _, msp := range []string{audittest.Regulator, audittest.Requester, audittest.Provider} {
		k, pub, err := ecsig.GenerateKey(rand.Reader)
		must(t, err)
		der, err := x509.MarshalPKCS8PrivateKey(k)
		must(t, err)
		must(t, os.WriteFile(rigKeyFile(dir, msp), der, 0o600))
		keys[msp] = audittest.Keys{Sign: ecsig.NewSigner(k, rand.Reader), SigningKey: pub}
	}
	c := audittest.New(t, dir, keys)
	must(t, c.Store.Close())
	return dir
}

// billedOnce checks the ledger bills the requester exactly one entry in
// the rig's period, the reconciliation's: (n + m) items at the
// reconciliation price.
func (r *rig) billedOnce(t *testing.T, seq uint64) {
	t.Helper()
	l, err := r.store.As(audittest.Requester)
	must(t, err)
	page, err := l.Entries(t.Context(), accounting.EntriesQuery{Period: r.period, Party: audittest.Requester})
	must(t, err)
	if len(page.Entries) != 1 {
		t.Fatalf("the requester is billed %d entries, want the reconciliation's one", len(page.Entries))
	}
	e := page.Entries[0]
	if e.Key.Sequence != seq || e.Amount != billItems*audittest.ReconPrice || e.Count != billItems {
		t.Fatalf("entry %+v bills %d for %d items, want sequence %d billing %d for %d", e.Key, e.Amount, e.Count, seq, billItems*audittest.ReconPrice, billItems)
	}
}

// TestBillJournalsOnce runs a reconciliation whose responder bills through
// its outbox: once the outbox drains, the ledger holds the entry, billed
// to the requester at (n + m) × the reconciliation price; Rebill finds
// nothing left to bill, and the requester's transcript is the one billed.
func TestBillJournalsOnce(t *testing.T) {
	r, err := openRig(newRigDir(t), nil)
	must(t, err)
	defer r.close()
	res, err := r.reconcile(t.Context(), SequenceBase)
	must(t, err)
	must(t, r.ob.Drain(t.Context()))
	r.billedOnce(t, SequenceBase)
	if n, err := r.resp.Rebill(t.Context()); err != nil || n != 0 {
		t.Fatalf("Rebill after the bill: %d billed, %v", n, err)
	}
	held, err := ReadTranscript(r.req.cfg.Dir, audittest.Requester, audittest.Provider, r.period, SequenceBase)
	must(t, err)
	hdr, err := held.Header.MarshalBinary()
	must(t, err)
	l, err := r.store.As(audittest.Requester)
	must(t, err)
	e, err := l.Entry(t.Context(), accounting.EntryKey{Period: r.period, Requester: audittest.Requester, Responder: audittest.Provider, Sequence: SequenceBase})
	must(t, err)
	if string(e.Header) != string(hdr) || res.Header.Sequence != SequenceBase {
		t.Fatal("the billed header is not the one the requester keeps")
	}
	if _, err := ReadTranscript(r.req.cfg.Dir, audittest.Requester, audittest.Provider, r.period, SequenceBase+1); !errors.Is(err, ErrUnknown) {
		t.Fatalf("transcript of a reconciliation never run: %v, want ErrUnknown", err)
	}
}

// TestAdversaryWrongReplyBilledIsReversed plays a responder that signs a
// wrong reply (two points swapped) and bills the reconciliation the
// requester refused at that reply: the requester's node keeps the
// evidence (ReadDispute), the auditor service upholds the dispute filed
// with it, and the endorsement reverses the entry on the ledger.
func TestAdversaryWrongReplyBilledIsReversed(t *testing.T) {
	dir := newRigDir(t)
	r, err := openRig(dir, nil)
	must(t, err)
	defer r.close()
	ctx := t.Context()
	r.tamper = func(req *riskmeshv1.PeerRequest, resp *riskmeshv1.PeerResponse) *riskmeshv1.PeerResponse {
		st, out := req.GetReconStep(), resp.GetReconStepped()
		if st == nil || len(out.GetChunk()) == 0 {
			return resp
		}
		c := new(ecdh.Chunk)
		if c.UnmarshalBinary(out.GetChunk()) != nil || c.Kind != ecdh.KindResponderReply || c.Seq != 1 {
			return resp
		}
		c.Points[0], c.Points[1] = c.Points[1], c.Points[0]
		enc, sig := resign(t, r.resp.cfg.Sign, st.GetHeaderDigest(), transcript.ChunkHash(st.GetChunk()), c)
		return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_ReconStepped{ReconStepped: &riskmeshv1.ReconStepped{Chunk: enc, Signature: sig}}}
	}
	if _, err := r.reconcile(ctx, SequenceBase); !errors.Is(err, ErrPeerChunk) || !errors.Is(err, ecdh.ErrProof) {
		t.Fatalf("reconciliation with a wrong reply: %v, want ErrPeerChunk wrapping ecdh.ErrProof", err)
	}
	// The responder bills it all the same: the header is signed by both.
	reqDir := r.req.cfg.Dir
	kept, err := ReadTranscript(reqDir, audittest.Requester, audittest.Provider, r.period, SequenceBase)
	must(t, err)
	forced, err := accounting.NewReconEntry(&kept.Header, kept.RequesterSignature, kept.ResponderSignature, billItems*audittest.ReconPrice)
	must(t, err)
	_, err = r.ob.Put(forced)
	must(t, err)
	must(t, r.ob.Drain(ctx))
	r.billedOnce(t, SequenceBase)

	d, err := ReadDispute(reqDir, audittest.Requester, audittest.Provider, r.period, SequenceBase)
	must(t, err)
	filing, err := d.MarshalBinary()
	must(t, err)
	regLedger, err := r.store.As(audittest.Regulator)
	must(t, err)
	der, err := os.ReadFile(rigKeyFile(dir, audittest.Regulator))
	must(t, err)
	k, err := x509.ParsePKCS8PrivateKey(der)
	must(t, err)
	db, err := bolt.Open(filepath.Join(t.TempDir(), "auditor.db"), 0o600, nil)
	must(t, err)
	defer db.Close()
	svc, err := auditor.New(auditor.Config{MSPID: audittest.Regulator, Ledger: regLedger, Sign: ecsig.NewSigner(k.(*ecdsa.PrivateKey), rand.Reader),
		DB: db, Authorizer: registry.New(regLedger, registry.Options{})})
	must(t, err)
	v, err := svc.Judge(ctx, audittest.Requester, filing, "reply 1 is wrong")
	must(t, err)
	if v.Verdict != riskmeshv1.Verdict_VERDICT_UPHELD || v.DisputeId == 0 {
		t.Fatalf("verdict %v (%s), want upheld and kept", v.Verdict, v.Reason)
	}
	if _, err := svc.Judge(ctx, audittest.Provider, filing, ""); !errors.Is(err, auditor.ErrNotRequester) {
		t.Fatalf("the responder disputing: %v, want ErrNotRequester", err)
	}
	key := auditor.KeyFromProto(v.Key)
	reqLedger, err := r.store.As(audittest.Requester)
	must(t, err)
	must(t, reqLedger.Reverse(ctx, accounting.Reverse{Key: key, Auditor: v.Auditor, Verdict: accounting.VerdictUpheld, Signature: v.EndorsementSignature}))
	e, err := reqLedger.Entry(ctx, key)
	must(t, err)
	if e.Reversal == nil {
		t.Fatal("the upheld dispute did not reverse the reconciliation's entry")
	}
	if _, err := ReadDispute(reqDir, audittest.Requester, audittest.Provider, r.period, SequenceBase+1); !errors.Is(err, ErrUnknown) {
		t.Fatalf("evidence of a reconciliation never run: %v", err)
	}
}

// billCrashEnv names the directory and crash point of a child process
// (TestRebillAfterKill9).
const (
	billCrashDir   = "RISKMESH_RECON_BILL_CHILD_DIR"
	billCrashPoint = "RISKMESH_RECON_BILL_CHILD_POINT"
)

// Crash points: before the entry is journalled, and after it is journalled
// but before the reconciliation is marked billed.
const (
	crashBeforeJournal = "before-journal"
	crashAfterJournal  = "after-journal"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(billCrashDir); dir != "" {
		if err := runBillChild(dir, os.Getenv(billCrashPoint)); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runBillChild runs one reconciliation whose Bill stops at the crash
// point: it prints "AT <point>" and waits to be killed. Its outbox never
// submits, so what reaches the ledger is the restarted node's doing.
func runBillChild(dir, point string) error {
	r, err := openRig(dir, func(journal Bill) Bill {
		return func(ctx context.Context, t *transcript.ReconTranscript) error {
			if point == crashAfterJournal {
				if err := journal(ctx, t); err != nil {
					return err
				}
			}
			fmt.Println("AT", point)
			select {} // killed here
		}
	})
	if err != nil {
		return err
	}
	defer r.close()
	_, err = r.reconcile(context.Background(), SequenceBase)
	return err
}

// TestRebillAfterKill9 kills -9 a responder node between finishing a
// reconciliation and recording it, at both points where that can happen,
// restarts it on the same files, and checks the ledger bills the
// reconciliation exactly once: Rebill journals what the crash left
// unjournalled, and a journalled entry is neither lost nor doubled.
func TestRebillAfterKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node processes")
	}
	for _, point := range []string{crashBeforeJournal, crashAfterJournal} {
		t.Run(point, func(t *testing.T) {
			dir := newRigDir(t)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), billCrashDir+"="+dir, billCrashPoint+"="+point)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			must(t, err)
			must(t, cmd.Start())
			sc := bufio.NewScanner(out)
			reached := false
			for sc.Scan() {
				if strings.TrimSpace(sc.Text()) == "AT "+point {
					reached = true
					break
				}
			}
			must(t, cmd.Process.Signal(syscall.SIGKILL))
			_ = cmd.Wait()
			if !reached {
				t.Fatalf("the child never reached %s", point)
			}

			r, err := openRig(dir, nil)
			must(t, err)
			defer func() { _ = r.close() }() // the last rig opened
			wantDepth := map[string]int{crashBeforeJournal: 0, crashAfterJournal: 1}[point]
			if d := r.ob.Depth(); d != wantDepth {
				t.Fatalf("outbox depth %d after the kill at %s, want %d", d, point, wantDepth)
			}
			n, err := r.resp.Rebill(t.Context())
			must(t, err)
			if n != 1 {
				t.Fatalf("Rebill billed %d reconciliations, want 1", n)
			}
			must(t, r.ob.Drain(t.Context()))
			r.billedOnce(t, SequenceBase)
			// Billed again by a second restart's Rebill, or by the entry
			// recorded once more: still once.
			if n, err := r.resp.Rebill(t.Context()); err != nil || n != 0 {
				t.Fatalf("second Rebill: %d billed, %v", n, err)
			}
			_, tp := paths(filepath.Join(dir, "provider"), ID(audittest.Requester, audittest.Provider, r.period, SequenceBase))
			must(t, os.Remove(tp+billedSuffix))
			// The running node settled it; a node started again reads it
			// anew.
			must(t, r.close())
			r, err = openRig(dir, nil)
			must(t, err)
			if n, err := r.resp.Rebill(t.Context()); err != nil || n != 1 {
				t.Fatalf("Rebill without the mark: %d billed, %v", n, err)
			}
			must(t, r.ob.Drain(t.Context()))
			r.billedOnce(t, SequenceBase)
		})
	}
}
