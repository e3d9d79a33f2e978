package outbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

const (
	provider  = "ProviderMSP"
	requester = "RequesterMSP"
	category  = "black"
	price     = 3
)

// network is a real embedded ledger with one provider and one requester
// registered, their signing keys set, a price and period 1 open.
type network struct {
	period   uint64 // the period entry bills, 1 unless a test rolled over
	store    *accounting.EmbeddedStore
	provider *accounting.Embedded
	reqSign  ecsig.Sign
	provSign ecsig.Sign
}

func newNetwork(t testing.TB) *network {
	t.Helper()
	ctx := context.Background()
	store, err := accounting.OpenEmbedded(filepath.Join(t.TempDir(), "ledger.db"), accounting.EmbeddedConfig{})
	must(t, err)
	t.Cleanup(func() { store.Close() })
	reg, err := store.As(accounting.DefaultRegulator)
	must(t, err)
	n := &network{store: store, period: 1}
	for _, p := range []struct {
		msp  string
		role accounting.Role
		sign *ecsig.Sign
	}{{provider, accounting.RoleProvider, &n.provSign}, {requester, accounting.RoleRequester, &n.reqSign}} {
		must(t, reg.AddInstitution(ctx, p.msp, p.msp, []accounting.Role{p.role}))
		key, pub, err := ecsig.GenerateKey(rand.Reader)
		must(t, err)
		l, err := store.As(p.msp)
		must(t, err)
		must(t, l.UpdateProfile(ctx, accounting.Profile{SigningKey: pub}))
		*p.sign = ecsig.NewSigner(key, rand.Reader)
	}
	must(t, reg.SetPrice(ctx, category, price))
	_, err = reg.Rollover(ctx)
	must(t, err)
	n.provider, err = store.As(provider)
	must(t, err)
	return n
}

// entry returns a correctly signed entry for sequence seq of count items;
// amount 0 means the right amount.
func (n *network) entry(t testing.TB, seq uint64, count uint32, amount int64) accounting.Entry {
	t.Helper()
	h := &transcript.Header{
		Protocol: transcript.ProtocolCatalogOPRF, Suite: transcript.SuiteRistretto255SHA512,
		Category: category, Period: n.period, Requester: requester, Responder: provider, Sequence: seq, Count: count,
	}
	hdr, err := h.MarshalBinary()
	must(t, err)
	var sb [8]byte
	binary.BigEndian.PutUint64(sb[:], seq)
	reqHash := sha256.Sum256(append([]byte("request"), sb[:]...))
	respHash := sha256.Sum256(append([]byte("response"), sb[:]...))
	reqDigest, err := transcript.RequestDigest(h, reqHash)
	must(t, err)
	reqSig, err := transcript.SignRequest(n.reqSign, reqDigest)
	must(t, err)
	respSig, err := transcript.SignResponse(n.provSign, transcript.ResponseDigest(reqDigest, respHash))
	must(t, err)
	if amount == 0 {
		amount = int64(count) * price
	}
	return accounting.Entry{Header: hdr, RequestHash: reqHash[:], ResponseHash: respHash[:],
		RequesterSignature: reqSig, ResponderSignature: respSig, Amount: amount}
}

// switchable is the real ledger behind a switch: while down, Record fails
// as a transport would, and every call is reported on calls.
type switchable struct {
	accounting.Recorder
	down  atomic.Bool
	calls chan error
}

var errDown = errors.New("ledger unreachable")

func (s *switchable) Record(ctx context.Context, entries []accounting.Entry) ([]accounting.Outcome, error) {
	var out []accounting.Outcome
	err := errDown
	if !s.down.Load() {
		out, err = s.Recorder.Record(ctx, entries)
	}
	select {
	case s.calls <- err:
	default:
	}
	return out, err
}

func openDB(t testing.TB, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	must(t, err)
	return db
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// run starts the submitter and stops it at the end of the test.
func run(t *testing.T, o *Outbox) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
	})
}

func flush(t *testing.T, o *Outbox) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, o.Flush(ctx))
}

func wantRecorded(t *testing.T, l accounting.Ledger, e accounting.Entry) {
	t.Helper()
	key, err := keyOf(&e)
	must(t, err)
	got, err := l.Entry(context.Background(), key)
	must(t, err)
	if got.Amount != e.Amount {
		t.Fatalf("entry %d: amount %d, want %d", key.Sequence, got.Amount, e.Amount)
	}
}

func TestPutSurvivesReopen(t *testing.T) {
	n := newNetwork(t)
	path := filepath.Join(t.TempDir(), "node.db")
	db := openDB(t, path)
	o, err := Open(db, Config{Ledger: n.provider})
	must(t, err)
	for seq := uint64(1); seq <= 3; seq++ {
		_, err := o.Put(n.entry(t, seq, 2, 0))
		must(t, err)
	}
	must(t, db.Close())

	db = openDB(t, path)
	defer db.Close()
	o, err = Open(db, Config{Ledger: n.provider, BatchSize: 2})
	must(t, err)
	if d := o.Depth(); d != 3 {
		t.Fatalf("Depth after reopen = %d, want 3", d)
	}
	run(t, o)
	flush(t, o)
	for seq := uint64(1); seq <= 3; seq++ {
		wantRecorded(t, n.provider, n.entry(t, seq, 2, 0))
	}
}

func TestPutSameKey(t *testing.T) {
	n := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	o, err := Open(db, Config{Ledger: n.provider})
	must(t, err)
	e := n.entry(t, 7, 1, 0)
	for range 2 {
		_, err := o.Put(e)
		must(t, err)
	}
	if d := o.Depth(); d != 1 {
		t.Fatalf("Depth after putting one entry twice = %d, want 1", d)
	}
	other := e
	other.Amount++
	if _, err := o.Put(other); !errors.Is(err, ErrConflict) {
		t.Fatalf("Put of a different entry under the same key: %v, want ErrConflict", err)
	}
}

func TestPutRejectsInvalidEntry(t *testing.T) {
	n := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	o, err := Open(db, Config{Ledger: n.provider})
	must(t, err)
	good := n.entry(t, 1, 1, 0)
	for name, mutate := range map[string]func(*accounting.Entry){
		"bad header":     func(e *accounting.Entry) { e.Header = e.Header[:5] },
		"short hash":     func(e *accounting.Entry) { e.RequestHash = e.RequestHash[:31] },
		"no signature":   func(e *accounting.Entry) { e.ResponderSignature = nil },
		"long signature": func(e *accounting.Entry) { e.RequesterSignature = make([]byte, 73) },
	} {
		t.Run(name, func(t *testing.T) {
			e := good
			mutate(&e)
			if _, err := o.Put(e); !errors.Is(err, ErrEntry) {
				t.Fatalf("Put: %v, want ErrEntry", err)
			}
		})
	}
	if d := o.Depth(); d != 0 {
		t.Fatalf("Depth = %d, want 0", d)
	}
}

func TestSubmitInBatches(t *testing.T) {
	n := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	o, err := Open(db, Config{Ledger: n.provider, BatchSize: 10})
	must(t, err)
	run(t, o)
	const total = 25
	for seq := uint64(1); seq <= total; seq++ {
		_, err := o.Put(n.entry(t, seq, uint32(seq), 0))
		must(t, err)
	}
	flush(t, o)
	if o.Recorded() != total || o.DeadCount() != 0 || o.LastError() != nil {
		t.Fatalf("Recorded %d, DeadCount %d, LastError %v; want %d, 0, nil", o.Recorded(), o.DeadCount(), o.LastError(), total)
	}
	for seq := uint64(1); seq <= total; seq++ {
		wantRecorded(t, n.provider, n.entry(t, seq, uint32(seq), 0))
	}
}

// sizes is the ledger behind a recorder of each Record call's size.
type sizes struct {
	accounting.Recorder
	mu    sync.Mutex
	calls []int
}

func (s *sizes) Record(ctx context.Context, entries []accounting.Entry) ([]accounting.Outcome, error) {
	s.mu.Lock()
	s.calls = append(s.calls, len(entries))
	s.mu.Unlock()
	return s.Recorder.Record(ctx, entries)
}

// Entries committed one by one share a Record call: the submitter waits
// (BatchDelay, an hour here) until BatchSize entries are pending, and a
// Flush sends the rest without waiting.
func TestBatchDelayGathersEntries(t *testing.T) {
	n := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	l := &sizes{Recorder: n.provider}
	o, err := Open(db, Config{Ledger: l, BatchSize: 5, BatchDelay: time.Hour})
	must(t, err)
	run(t, o)
	const total = 7
	for seq := uint64(1); seq <= total; seq++ {
		_, err := o.Put(n.entry(t, seq, 1, 0))
		must(t, err)
	}
	flush(t, o)
	l.mu.Lock()
	calls := slices.Clone(l.calls)
	l.mu.Unlock()
	if !slices.Equal(calls, []int{5, 2}) {
		t.Fatalf("Record calls of %v entries, want [5 2]: a full batch, then the rest at the flush", calls)
	}
	for seq := uint64(1); seq <= total; seq++ {
		wantRecorded(t, n.provider, n.entry(t, seq, 1, 0))
	}
}

// While the submitter gathers a batch, an entry short of BatchSize does
// not wake it (it would only count again); the entry that fills the batch
// does. Outside gathering every entry wakes it.
func TestGatheringWakesOnlyWhenTheBatchFills(t *testing.T) {
	n := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	o, err := Open(db, Config{Ledger: n.provider, BatchSize: 3, BatchDelay: time.Hour})
	must(t, err)
	kicked := func() bool {
		select {
		case <-o.kick:
			return true
		default:
			return false
		}
	}
	kicked() // Open's own kick
	_, err = o.Put(n.entry(t, 1, 1, 0))
	must(t, err)
	if !kicked() {
		t.Fatal("an entry added while the submitter is not gathering did not wake it")
	}
	if !o.startGathering() {
		t.Fatal("startGathering with 1 of 3 entries pending reports a full batch")
	}
	_, err = o.Put(n.entry(t, 2, 1, 0))
	must(t, err)
	if kicked() {
		t.Fatal("the second of 3 entries woke the gathering submitter")
	}
	_, err = o.Put(n.entry(t, 3, 1, 0))
	must(t, err)
	if !kicked() {
		t.Fatal("the entry that fills the batch did not wake the gathering submitter")
	}
	o.stopGathering()
	if o.startGathering() {
		t.Fatal("startGathering with a full batch pending reports it short")
	}
}

func TestLedgerDownThenUp(t *testing.T) {
	n := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	sw := &switchable{Recorder: n.provider, calls: make(chan error, 1)}
	sw.down.Store(true)
	o, err := Open(db, Config{Ledger: sw, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	must(t, err)
	run(t, o)
	for seq := uint64(1); seq <= 5; seq++ {
		_, err := o.Put(n.entry(t, seq, 1, 0))
		must(t, err)
	}
	// The fourth failed call starts after the third was counted: the
	// submitter makes one call at a time.
	for failures := 0; failures < 4; {
		if err := <-sw.calls; errors.Is(err, errDown) {
			failures++
		}
	}
	if !errors.Is(o.LastError(), errDown) || o.Depth() != 5 || o.SubmitErrors() < 3 {
		t.Fatalf("while down: LastError %v, Depth %d, SubmitErrors %d; want errDown, 5, >= 3",
			o.LastError(), o.Depth(), o.SubmitErrors())
	}
	sw.down.Store(false)
	flush(t, o)
	if o.LastError() != nil || o.Recorded() != 5 {
		t.Fatalf("after recovery: LastError %v, Recorded %d", o.LastError(), o.Recorded())
	}
	for seq := uint64(1); seq <= 5; seq++ {
		wantRecorded(t, n.provider, n.entry(t, seq, 1, 0))
	}
}

// A crash between the ledger's commit and the journal's delete re-sends an
// entry; the ledger calls it a duplicate and the journal drops it.
func TestAlreadyRecordedIsRemoved(t *testing.T) {
	n := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	e := n.entry(t, 1, 4, 0)
	if _, err := n.provider.Record(context.Background(), []accounting.Entry{e}); err != nil {
		t.Fatal(err)
	}
	o, err := Open(db, Config{Ledger: n.provider})
	must(t, err)
	_, err = o.Put(e)
	must(t, err)
	run(t, o)
	flush(t, o)
	if o.Recorded() != 1 || o.DeadCount() != 0 {
		t.Fatalf("Recorded %d, DeadCount %d; want 1, 0", o.Recorded(), o.DeadCount())
	}
}

func TestRejectedGoesDead(t *testing.T) {
	n := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	o, err := Open(db, Config{Ledger: n.provider})
	must(t, err)
	good, bad := n.entry(t, 1, 2, 0), n.entry(t, 2, 2, 999)
	for _, e := range []accounting.Entry{good, bad} {
		_, err := o.Put(e)
		must(t, err)
	}
	run(t, o)
	flush(t, o)
	if o.Recorded() != 1 || o.DeadCount() != 1 {
		t.Fatalf("Recorded %d, DeadCount %d; want 1, 1", o.Recorded(), o.DeadCount())
	}
	dead, err := o.Dead(0)
	must(t, err)
	if len(dead) != 1 || dead[0].Key.Sequence != 2 || dead[0].Code != "wrong_amount" || dead[0].Entry.Amount != 999 {
		t.Fatalf("Dead() = %+v, want sequence 2 with code wrong_amount", dead)
	}
	wantRecorded(t, n.provider, good)
}

func TestOpenValidatesConfig(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	n := newNetwork(t)
	for name, cfg := range map[string]Config{
		"no ledger":      {},
		"batch too big":  {Ledger: n.provider, BatchSize: MaxBatchSize + 1},
		"negative delay": {Ledger: n.provider, MinBackoff: -1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Open(db, cfg); err == nil {
				t.Fatal("Open accepted an invalid config")
			}
		})
	}
}

// An entry rejected because its requester was suspended goes dead; once the
// requester is reactivated, Requeue sends it again and it is recorded.
func TestRequeueAfterReactivation(t *testing.T) {
	n := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	reg, err := n.store.As(accounting.DefaultRegulator)
	must(t, err)
	ctx := context.Background()
	// Suspended in period 1, so its entries of period 2 are refused (those
	// of period 1 would still record: answers given before the suspension).
	must(t, reg.SuspendInstitution(ctx, requester))
	_, err = reg.Rollover(ctx)
	must(t, err)
	n.period = 2
	o, err := Open(db, Config{Ledger: n.provider})
	must(t, err)
	run(t, o)
	e := n.entry(t, 1, 3, 0)
	_, err = o.Put(e)
	must(t, err)
	flush(t, o)
	if o.DeadCount() != 1 {
		t.Fatalf("DeadCount = %d, want 1", o.DeadCount())
	}
	if moved, err := o.Requeue("wrong_amount"); err != nil || moved != 0 {
		t.Fatalf("Requeue of another code moved %d (%v)", moved, err)
	}
	must(t, reg.ReactivateInstitution(ctx, requester))
	moved, err := o.Requeue("institution_inactive")
	must(t, err)
	if moved != 1 {
		t.Fatalf("Requeue moved %d, want 1", moved)
	}
	flush(t, o)
	if o.DeadCount() != 0 || o.Recorded() != 1 {
		t.Fatalf("DeadCount %d, Recorded %d; want 0, 1", o.DeadCount(), o.Recorded())
	}
	wantRecorded(t, n.provider, e)
}

// Puts racing with the submitter: every entry is recorded once and the
// journal ends empty.
func TestConcurrentPuts(t *testing.T) {
	n := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	o, err := Open(db, Config{Ledger: n.provider, BatchSize: 3})
	must(t, err)
	run(t, o)
	const workers, each = 4, 10
	entries := make([]accounting.Entry, workers*each)
	for i := range entries {
		entries[i] = n.entry(t, uint64(i+1), 1, 0)
	}
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for _, e := range entries[w*each : (w+1)*each] {
				if _, err := o.Put(e); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		must(t, <-errs)
	}
	flush(t, o)
	if o.Recorded() != workers*each || o.Depth() != 0 {
		t.Fatalf("Recorded %d, Depth %d; want %d, 0", o.Recorded(), o.Depth(), workers*each)
	}
	for _, e := range entries {
		wantRecorded(t, n.provider, e)
	}
}

// Drain submits without Run, as a daemon stopping after its background
// work ended does; a ledger that stays down ends it at the deadline with
// the entries still pending.
func TestDrainWithoutRun(t *testing.T) {
	n := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	sw := &switchable{Recorder: n.provider, calls: make(chan error, 1)}
	sw.down.Store(true)
	o, err := Open(db, Config{Ledger: sw, BatchSize: 2, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	must(t, err)
	for seq := uint64(1); seq <= 5; seq++ {
		_, err := o.Put(n.entry(t, seq, 1, 0))
		must(t, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-sw.calls // one failed attempt, then give up
		cancel()
	}()
	if err := o.Drain(ctx); !errors.Is(err, context.Canceled) || o.Depth() != 5 {
		t.Fatalf("Drain with the ledger down: %v, Depth %d; want context.Canceled, 5", err, o.Depth())
	}
	sw.down.Store(false)
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, o.Drain(ctx))
	if o.Depth() != 0 || o.Recorded() != 5 {
		t.Fatalf("Depth %d, Recorded %d; want 0, 5", o.Depth(), o.Recorded())
	}
}

// PendingAmounts and PendingIn count what the journal holds and the ledger
// does not: per requester (the provider's share of an exposure) and per
// period (the backlog a provider reports in grace).
func TestPendingAmountsAndBacklog(t *testing.T) {
	n := newNetwork(t)
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	o, err := Open(db, Config{Ledger: n.provider})
	must(t, err)
	for seq := uint64(1); seq <= 3; seq++ {
		_, err := o.Put(n.entry(t, seq, 2, 0))
		must(t, err)
	}
	amounts, err := o.PendingAmounts()
	must(t, err)
	if len(amounts) != 1 || amounts[requester] != 3*2*price {
		t.Fatalf("pending amounts %v, want %s: %d", amounts, requester, 3*2*price)
	}
	for period, want := range map[uint64]uint64{0: 0, 1: 3, 2: 0, 10: 0} {
		if got, err := o.PendingIn(period); err != nil || got != want {
			t.Fatalf("PendingIn(%d) = %d, %v; want %d", period, got, err, want)
		}
	}
	run(t, o)
	flush(t, o)
	amounts, err = o.PendingAmounts()
	must(t, err)
	if got, err := o.PendingIn(1); err != nil || got != 0 || len(amounts) != 0 {
		t.Fatalf("after the flush: PendingIn %d (%v), amounts %v", got, err, amounts)
	}
}
