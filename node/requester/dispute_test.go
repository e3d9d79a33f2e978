package requester

import (
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/auditor"
	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// startAuditor registers the regulator as the consortium's auditor and
// serves the auditor service on loopback; it returns the address and the
// regulator's identity.
func (n *network) startAuditor(t *testing.T) (string, *identity) {
	t.Helper()
	ctx := context.Background()
	reg := newIdentity(t, n.store, accounting.DefaultRegulator)
	must(t, n.regulator.AddInstitution(ctx, reg.msp, "Regulator", []accounting.Role{accounting.RoleAuditor}))
	must(t, reg.ledger.UpdateProfile(ctx, accounting.Profile{TLSFingerprint: reg.fingerprint(), SigningKey: reg.signPub}))
	dir := registry.New(reg.ledger, registry.Options{})
	must(t, dir.Refresh(ctx))
	db, err := bolt.Open(filepath.Join(t.TempDir(), "auditor.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	must(t, err)
	svc, err := auditor.New(auditor.Config{MSPID: reg.msp, Ledger: reg.ledger, Sign: reg.sign, DB: db, Authorizer: dir,
		Redeliver:     auditor.PeerRedeliver(dir, peer.Config{Certificate: reg.cert, Authorizer: dir}),
		RedeliverLive: auditor.PeerRedeliverLive(dir, peer.Config{Certificate: reg.cert, Authorizer: dir})})
	must(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Serve(sctx, l, func() *tls.Certificate { return &reg.cert }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		db.Close()
	})
	return l.Addr().String(), reg
}

// TestMisbehavingProviderIsDisputedAndReversed runs the requester node as
// the daemon wires it: a provider answering under another key than its
// registered one is found DISPUTED, the node disputes it by itself
// (dispute.Auto), the auditor upholds, the reversal lands on the ledger, the
// query record reports it, and settlement charges only the honest provider.
func TestMisbehavingProviderIsDisputedAndReversed(t *testing.T) {
	ctx := context.Background()
	n := newNetwork(t, 1_000_000, span(0, 10), span(0, 10))
	addr, _ := n.startAuditor(t)

	var auto *dispute.Auto
	r := n.newRequester("", func(c *setup) {
		// auto is made below, on the requester's own node.db, as the
		// daemon does; nothing is disputed before it exists.
		c.Disputed = func(tr *transcript.Transcript, reason string) { auto.Disputed(tr, reason) }
		c.DisputeStatus = func(k accounting.EntryKey) (riskmeshv1.DisputeState, string, bool) { return auto.Status(k) }
	})
	conn, err := dispute.Dial(ctx, n.requester.ledger, accounting.DefaultRegulator, addr, n.requester.cert)
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	client, err := dispute.New(dispute.Config{Ledger: n.requester.ledger, Auditor: riskmeshv1.NewAuditorClient(conn), AuditorMSP: accounting.DefaultRegulator})
	must(t, err)
	auto, err = dispute.NewAuto(dispute.AutoConfig{Client: client, DB: r.cfg.DB})
	must(t, err)
	ready(t, r)

	bad := n.providers[1]
	rogue, err := oprf.GenerateKey(nil)
	must(t, err)
	bad.set(func(p *testProvider) { p.rogueKey = rogue })
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2, 3)})
	queryID := events[0].GetAccepted().GetQueryId()
	res := providerResult(t, events[len(events)-1].GetResult(), bad.msp)
	if res.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED || len(res.Disputes) != 1 {
		t.Fatalf("result %v, want one disputed exchange", res)
	}

	// The providers' outboxes record both answers; then the dispute runs.
	for _, p := range n.providers {
		fctx, cancel := context.WithTimeout(ctx, time.Minute)
		must(t, p.node.Outbox().Flush(fctx))
		cancel()
	}
	if pending := auto.Process(ctx); pending != 0 {
		t.Fatalf("%d disputes still pending after the entries were recorded", pending)
	}

	rec, err := r.GetQuery(ctx, queryID)
	must(t, err)
	for _, pr := range append(rec.ProviderResults, rec.GetResult().GetProviders()...) {
		if pr.Provider != bad.msp {
			continue
		}
		if len(pr.Disputes) != 1 || pr.Disputes[0].State != riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED {
			t.Fatalf("query record disputes %v, want REVERSED", pr.Disputes)
		}
	}
	k := res.Disputes[0].Key
	e, err := n.regulator.Entry(ctx, accounting.EntryKey{Period: k.Period, Requester: k.Requester, Responder: k.Responder, Sequence: k.Sequence})
	must(t, err)
	if e.Reversal == nil {
		t.Fatal("the disputed entry is not reversed on the ledger")
	}

	_, err = n.regulator.Rollover(ctx)
	must(t, err)
	must(t, n.regulator.ClosePeriod(ctx, n.period))
	for range 100 {
		s, err := n.regulator.Settle(ctx, n.period, 0)
		must(t, err)
		if s.Done {
			break
		}
	}
	p, err := n.regulator.Period(ctx, n.period)
	must(t, err)
	if want := int64(3 * testPrice); p.Net[requesterMSP] != -want || p.Net[bad.msp] != 0 || p.Net[n.providers[0].msp] != want {
		t.Fatalf("net changes %v, want the honest provider paid %d and the disputed one nothing", p.Net, want)
	}
}
