package fabric_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	acfabric "github.com/riskmesh/riskmesh/accounting/fabric"
	"github.com/riskmesh/riskmesh/accounting/ledgertest"
	"github.com/riskmesh/riskmesh/deploy/fabric"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Parameters of the growth test's workload: small batches, so that many
// transactions are in flight across every configuration change, and a
// bound on the whole run.
const (
	growthCategory   = "growth"
	growthPrice      = 2
	growthCount      = 10 // items per entry
	growthBatch      = 4  // entries per Record transaction
	growthMaxBatches = 400
	growthTimeout    = 8 * time.Minute
	// growthBatchPatience is how long a batch is sent again after failures:
	// a node's outbox never gives up, the test does, for a verdict.
	growthBatchPatience = 2 * time.Minute
	// growthCommitWait bounds the wait for a transaction's commit status.
	// A transaction the stopped Raft leader had accepted but not yet put
	// in a block is lost with it: its status never comes, and only sending
	// the batch again records its entries.
	growthCommitWait = 15 * time.Second
	growthRetryPause = 200 * time.Millisecond
)

var (
	founders = fabric.Orgs[:3] // RegulatorMSP, Bank1MSP, Bank2MSP: each runs an orderer
	bank3    = fabric.Orgs[3]
	bank4    = fabric.OrgSpec{Name: "bank4", MSPID: "Bank4MSP"}
)

// member is an institution of the growth test: its ledger client through its
// own peer and its transcript-signing key.
type member struct {
	msp    string
	client *acfabric.Client
	sign   ecsig.Sign
	pub    []byte
}

// connect returns a ledger client of mspID's User1 through the gateway of
// organisation via.
func connect(t *testing.T, n *fabric.Network, mspID, via string) *acfabric.Client {
	t.Helper()
	cr, err := n.Info().Credentials(mspID, via)
	if err != nil {
		t.Fatal(err)
	}
	c, err := acfabric.New(acfabric.Config{
		MSPID: cr.MSPID, PeerAddress: cr.PeerAddress, TLSRootCert: cr.TLSRootCert,
		Certificate: cr.Certificate, PrivateKey: cr.PrivateKey,
		CommitStatusTimeout: growthCommitWait,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// onboard is the RiskMesh side of admitting an institution: the regulator
// registers it as provider and requester, and the institution publishes its
// transcript-signing key through its own peer.
func onboard(ctx context.Context, t *testing.T, n *fabric.Network, reg *acfabric.Client, mspID string) *member {
	t.Helper()
	roles := []accounting.Role{accounting.RoleProvider, accounting.RoleRequester}
	if err := reg.AddInstitution(ctx, mspID, mspID, roles); err != nil {
		t.Fatalf("AddInstitution(%s): %v", mspID, err)
	}
	key, pub, err := ecsig.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m := &member{msp: mspID, client: connect(t, n, mspID, mspID), sign: ecsig.NewSigner(key, rand.Reader), pub: pub}
	// The new organisation's own peer endorses its calls and may not yet
	// hold the block that registered it (it caught up to the height when
	// AddOrg returned): forbidden until it does, as a new member's node
	// would find and retry.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		err := m.client.UpdateProfile(ctx, accounting.Profile{SigningKey: pub})
		if err == nil {
			break
		}
		if !errors.Is(err, accounting.ErrForbidden) || time.Now().After(deadline) {
			t.Fatalf("UpdateProfile as %s: %v", mspID, err)
		}
	}
	return m
}

// workload records batches of entries between the current members and
// reads one back after each, until stopped or growthMaxBatches. Every entry
// it sent is remembered; a failed Record is sent again unchanged, as a
// node's outbox does, so a transaction that was committed although its
// caller saw an error shows up as a duplicate, never as a second entry.
type workload struct {
	period uint64
	seq    atomic.Uint64
	// pause is each worker's rest between batches, so that a long scenario
	// stays within growthMaxBatches.
	pause time.Duration

	mu      sync.Mutex
	members []*member
	sent    map[accounting.EntryKey]accounting.Entry
	batches int
	queries int
	retries int
	// lastRetry is the time and error of the last failed Record call.
	lastRetry string
	// retryLog has one line per failed Record call, for the test's log.
	retryLog []string
}

func (w *workload) join(m *member) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.members = append(w.members, m)
}

func (w *workload) recorded() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.batches
}

// run is one worker; worker k starts its rotation at member k.
func (w *workload) run(ctx context.Context, k int, stop <-chan struct{}) error {
	for i := k; ; i++ {
		select {
		case <-stop:
			return nil
		case <-time.After(w.pause):
		}
		w.mu.Lock()
		if w.batches >= growthMaxBatches {
			w.mu.Unlock()
			return nil
		}
		resp, req := w.members[i%len(w.members)], w.members[(i+1)%len(w.members)]
		w.mu.Unlock()
		entries := make([]accounting.Entry, growthBatch)
		for j := range entries {
			e, err := w.entry(req, resp)
			if err != nil {
				return err
			}
			entries[j] = e
		}
		if err := w.record(ctx, resp, entries); err != nil {
			return err
		}
		// The query half: the responder reads the last entry back through
		// its own peer, which committed it before Record returned (another
		// peer may still be a block behind).
		key, err := entryKey(entries[len(entries)-1])
		if err != nil {
			return err
		}
		got, err := resp.client.Entry(ctx, key)
		if err != nil {
			return fmt.Errorf("read back %+v as %s: %w", key, resp.msp, err)
		}
		if got.Key != key {
			return fmt.Errorf("read back %+v, got %+v", key, got.Key)
		}
		w.mu.Lock()
		w.queries++
		w.mu.Unlock()
	}
}

// record submits one batch as resp until it is on the ledger, for at most
// growthBatchPatience.
func (w *workload) record(ctx context.Context, resp *member, entries []accounting.Entry) error {
	deadline := time.Now().Add(growthBatchPatience)
	for attempt := 0; ; attempt++ {
		outs, err := resp.client.Record(ctx, entries)
		if err != nil {
			if time.Now().After(deadline) {
				return fmt.Errorf("record as %s: %d attempts: %w", resp.msp, attempt+1, err)
			}
			w.mu.Lock()
			w.retries++
			w.lastRetry = fmt.Sprintf("%s: %v", time.Now().Format(time.TimeOnly), err)
			w.retryLog = append(w.retryLog, fmt.Sprintf("%s %s: %.160v", time.Now().Format("15:04:05.0"), resp.msp, err))
			w.mu.Unlock()
			// A restarting peer refuses at once; do not spin on it.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(growthRetryPause):
			}
			continue
		}
		for i, o := range outs {
			recorded := o.Status == accounting.OutcomeRecorded
			// Only a repeated batch may meet its own entries.
			if !recorded && (o.Status != accounting.OutcomeDuplicate || attempt == 0) {
				return fmt.Errorf("entry %d of a batch by %s: %s %s (%s)", i, resp.msp, o.Status, o.Code, o.Detail)
			}
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, e := range entries {
			key, err := entryKey(e)
			if err != nil {
				return err
			}
			w.sent[key] = e
		}
		w.batches++
		return nil
	}
}

// entry builds one entry billed by resp to req, signed by both, as a node
// would after a PSI exchange.
func (w *workload) entry(req, resp *member) (accounting.Entry, error) {
	h := &transcript.Header{
		Protocol: transcript.ProtocolCatalogOPRF, Suite: transcript.SuiteRistretto255SHA512,
		Category: growthCategory, Period: w.period, Requester: req.msp, Responder: resp.msp,
		Sequence: w.seq.Add(1), Count: growthCount,
	}
	return ledgertest.SignedEntry(h, req.sign, resp.sign, growthCount*growthPrice, rand.Reader)
}

func entryKey(e accounting.Entry) (accounting.EntryKey, error) {
	h, err := transcript.ParseHeader(e.Header)
	if err != nil {
		return accounting.EntryKey{}, err
	}
	return accounting.EntryKey{Period: h.Period, Requester: h.Requester, Responder: h.Responder, Sequence: h.Sequence}, nil
}

// waitBatches waits until the workload has recorded more batches than it
// had, so that each step of the test happens with transactions in flight.
func waitBatches(t *testing.T, w *workload, more int, errs <-chan error) {
	t.Helper()
	target := w.recorded() + more
	if target > growthMaxBatches {
		t.Fatalf("the scenario waits for batch %d, the workload stops at %d", target, growthMaxBatches)
	}
	for w.recorded() < target {
		select {
		case err := <-errs:
			t.Fatalf("workload: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// servedCert returns the TLS certificate that org's peer serves, verified
// against the organisation's TLS CA.
func servedCert(t *testing.T, org fabric.Org) *x509.Certificate {
	t.Helper()
	ca, err := os.ReadFile(org.PeerTLSCACert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		t.Fatal("no TLS CA certificate")
	}
	host, _, err := net.SplitHostPort(org.PeerAddress)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", org.PeerAddress, &tls.Config{RootCAs: roots, ServerName: host, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// startWorkload onboards the founding banks, opens a period priced for the
// workload and starts two workers, which rest for pause between batches.
// stop stops them and is safe to call more than once.
func startWorkload(ctx context.Context, t *testing.T, n *fabric.Network, reg *acfabric.Client, pause time.Duration) (w *workload, errs <-chan error, stop func()) {
	t.Helper()
	w = &workload{sent: map[accounting.EntryKey]accounting.Entry{}, pause: pause}
	w.seq.Store(uint64(time.Now().UnixNano()))
	for _, o := range founders[1:] {
		w.join(onboard(ctx, t, n, reg, o.MSPID))
	}
	if err := reg.SetPrice(ctx, growthCategory, growthPrice); err != nil {
		t.Fatal(err)
	}
	p, err := reg.Rollover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.period = p.Number
	done := make(chan struct{})
	failed := make(chan error, 2)
	var workers sync.WaitGroup
	for k := range 2 {
		workers.Go(func() {
			if err := w.run(ctx, k, done); err != nil {
				failed <- err
			}
		})
	}
	var once sync.Once
	return w, failed, func() {
		once.Do(func() {
			close(done)
			workers.Wait()
		})
	}
}

// checkExactlyOnce checks, once the workload has stopped, that every entry
// it sent is on the ledger exactly once and as sent.
func checkExactlyOnce(ctx context.Context, t *testing.T, reg *acfabric.Client, w *workload, errs <-chan error) {
	t.Helper()
	select {
	case err := <-errs:
		t.Fatalf("workload: %v", err)
	default:
	}
	t.Logf("workload: %d batches of %d entries, %d read-backs, %d retried calls (last: %s)",
		w.batches, growthBatch, w.queries, w.retries, w.lastRetry)
	for i, l := range w.retryLog {
		if i%10 == 0 || i == len(w.retryLog)-1 {
			t.Log(l)
		}
	}
	t.Run("every entry exactly once", func(t *testing.T) {
		seen := map[accounting.EntryKey]int{}
		for _, m := range w.members {
			q := accounting.EntriesQuery{Period: w.period, Party: m.msp}
			for {
				page, err := reg.Entries(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range page.Entries {
					if e.Category == growthCategory {
						seen[e.Key]++
					}
				}
				if page.Bookmark == "" {
					break
				}
				q.Bookmark = page.Bookmark
			}
		}
		for key, count := range seen {
			if _, ok := w.sent[key]; !ok || count != 1 {
				t.Errorf("entry %+v: listed %d times, sent: %v", key, count, ok)
			}
		}
		for key, e := range w.sent {
			if seen[key] != 1 {
				t.Errorf("entry %+v sent, listed %d times", key, seen[key])
				continue
			}
			got, err := reg.Entry(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if got.Amount != e.Amount || string(got.RequestHash) != string(e.RequestHash) {
				t.Errorf("entry %+v on the ledger differs from the one sent", key)
			}
		}
		if len(w.sent) != w.batches*growthBatch {
			t.Fatalf("%d entries sent in %d batches of %d", len(w.sent), w.batches, growthBatch)
		}
	})
}

// upFounders brings up the three founding organisations, each running an
// orderer, and stops them after the test.
func upFounders(ctx context.Context, t *testing.T) *fabric.Network {
	t.Helper()
	n, err := fabric.Up(ctx, fabric.Config{DataDir: dataDir(t), Orgs: founders, KillWithParent: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Stop(); err != nil {
			t.Error(err)
		}
	})
	return n
}

// stepper returns a logger of a scenario's steps, with the time since it
// was made.
func stepper(t *testing.T) func(what string) {
	start := time.Now()
	return func(what string) {
		t.Helper()
		t.Logf("%6.1fs %s %s", time.Since(start).Seconds(), time.Now().Format("15:04:05.0"), what)
	}
}

// keepEnv keeps a network test's data dir and logs after the test.
const keepEnv = "RISKMESH_FABRIC_KEEP"

// dataDir is a fresh data dir, removed after a passing test unless keepEnv
// is set; a failed test's logs stay for the post-mortem.
func dataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "riskmesh-fabric-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv(keepEnv) != "" {
			t.Logf("data dir and logs kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}

// TestGrowAndUpgrade grows a running network from three organisations to
// five and upgrades the contract while a record and query workload runs,
// then checks that every entry the workload sent is on the ledger exactly
// once. Along the way, a minority of admins fails to add an organisation, a
// peer's certificates are renewed, the channel keeps ordering with its Raft
// leader stopped, and a removed organisation's client is refused. docs/operations.md walks through the
// same steps with the fabricnet commands.
func TestGrowAndUpgrade(t *testing.T) {
	requireGate(t)
	ctx, cancel := context.WithTimeout(context.Background(), growthTimeout)
	defer cancel()
	n := upFounders(ctx, t)
	step := stepper(t)

	reg := connect(t, n, fabric.RegulatorMSPID, fabric.RegulatorMSPID)
	w, errs, stopWorkload := startWorkload(ctx, t, n, reg, 0)
	defer stopWorkload()
	step("3 organisations up, 2 banks onboarded")
	waitBatches(t, w, 5, errs)

	t.Run("adversary: a minority of admins cannot add an organisation", func(t *testing.T) {
		_, err := n.AddOrg(ctx, bank3, []string{"Bank1MSP"})
		if err == nil || !strings.Contains(err.Error(), "policy") {
			t.Fatalf("AddOrg signed by 1 of 3 admins: %v, want a policy failure", err)
		}
		if _, err := n.Org(bank3.MSPID); !errors.Is(err, fabric.ErrUnknownOrg) {
			t.Fatalf("Bank3MSP is a member after a refused update: %v", err)
		}
	})
	step("minority update refused")

	// 2 of 3, then 3 of 4 admins: the MAJORITY of the Application group.
	grow := []struct {
		org     fabric.OrgSpec
		signers []string
	}{
		{bank3, []string{"RegulatorMSP", "Bank1MSP"}},
		{bank4, []string{"RegulatorMSP", "Bank1MSP", "Bank3MSP"}},
	}
	for _, g := range grow {
		org, err := n.AddOrg(ctx, g.org, g.signers)
		if err != nil {
			t.Fatal(err)
		}
		m := onboard(ctx, t, n, reg, org.MSPID)
		w.join(m)
		step(g.org.MSPID + " joined, caught up and onboarded")
		waitBatches(t, w, 5, errs)
	}

	if err := n.UpgradeChaincode(ctx, "riskmesh_2", []string{"RegulatorMSP", "Bank1MSP", "Bank2MSP"}); err != nil {
		t.Fatal(err)
	}
	if got := n.Info().Sequence; got != 2 {
		t.Fatalf("sequence after the upgrade = %d, want 2", got)
	}
	step("contract upgraded to sequence 2 (3 of 5 approvals, then the other 2)")
	waitBatches(t, w, 5, errs)

	t.Run("renewed peer certificates", func(t *testing.T) {
		bank1, err := n.Org("Bank1MSP")
		if err != nil {
			t.Fatal(err)
		}
		before := servedCert(t, bank1)
		if err := n.RenewPeerCertificates(ctx, bank1.MSPID); err != nil {
			t.Fatal(err)
		}
		after := servedCert(t, bank1)
		if after.SerialNumber.Cmp(before.SerialNumber) == 0 || after.Subject.String() != before.Subject.String() {
			t.Fatalf("Bank1MSP's peer serves serial %s (%s), before %s (%s): want a new certificate for the same peer",
				after.SerialNumber, after.Subject, before.SerialNumber, before.Subject)
		}
	})
	step("Bank1MSP's peer certificates renewed and the peer restarted")
	waitBatches(t, w, 5, errs)

	leader, err := n.RaftLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.StopOrderer(leader); err != nil {
		t.Fatal(err)
	}
	step("raft leader (orderer of " + leader + ") stopped")
	waitBatches(t, w, 5, errs)
	step("workload continued on 2 of 3 orderers")

	stopWorkload()
	checkExactlyOnce(ctx, t, reg, w, errs)

	t.Run("a removed organisation is refused", func(t *testing.T) {
		// Bank4's client, through the regulator's gateway, before and after.
		c := connect(t, n, bank4.MSPID, fabric.RegulatorMSPID)
		if _, err := c.Institution(ctx, bank4.MSPID); err != nil {
			t.Fatalf("Bank4MSP reads before removal: %v", err)
		}
		if err := n.RemoveOrg(ctx, bank4.MSPID, []string{"RegulatorMSP", "Bank1MSP", "Bank2MSP"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Institution(ctx, bank4.MSPID); err == nil {
			t.Fatal("Bank4MSP still reads after its removal")
		}
		if _, err := reg.Institution(ctx, bank4.MSPID); err != nil {
			t.Fatalf("the regulator reads after the removal: %v", err)
		}
	})
	step("Bank4MSP removed")
}
