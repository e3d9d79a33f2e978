package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/testwait"
	"github.com/riskmesh/riskmesh/node/daemon"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/identity/identitytest"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/node/push"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/node/requester"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

const regulator = "RegulatorMSP"

// freeUDP returns a loopback address with a port that was free a moment ago.
func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// member is one node of the test network.
type member struct {
	msp, dir, idDir, endpoint string
	id                        *identity.Identity
}

func newMember(t *testing.T, msp string, categories ...string) *member {
	t.Helper()
	dir := filepath.Join(t.TempDir(), msp)
	m := &member{msp: msp, dir: dir, idDir: filepath.Join(dir, "identity"), endpoint: freeUDP(t)}
	m.id = identitytest.New(t, m.idDir, msp, categories...)
	return m
}

// run starts a daemon for cfg and returns a function that stops it,
// checking that it stopped cleanly; the test's end stops it too.
func run(t *testing.T, cfg daemon.Config) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- daemon.Run(ctx, cfg) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s stopped with %v", cfg.MSPID, err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// csvSource lists rows "id,cat,reason,listed,ref" of phone numbers under
// category code 1 ("black").
func csvSource(t *testing.T, dir, name string, rows ...string) provider.Source {
	t.Helper()
	path := filepath.Join(dir, name+".csv")
	data := "id,cat,reason,listed,ref\n" + strings.Join(rows, "\n") + "\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := lists.NewDelimited(lists.File(path), lists.DelimitedConfig{Mapping: lists.Mapping{
		ID: "id", FixedType: ident.Phone, Category: "cat", Reason: "reason", Listed: "listed", Reference: "ref",
	}})
	if err != nil {
		t.Fatal(err)
	}
	return provider.Source{Name: name, Category: "black", Code: 1, Source: src}
}

// eventually retries check until it succeeds, for at most 60 s; it is the
// only way to wait for another node's background work.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	testwait.Until(t, what, time.Minute, check)
}

func apiClient(t *testing.T, m *member) riskmeshv1.RiskMeshClient {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+filepath.Join(m.dir, "api.sock"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return riskmeshv1.NewRiskMeshClient(conn)
}

func query(t *testing.T, c riskmeshv1.RiskMeshClient, values ...string) *riskmeshv1.QueryResult {
	t.Helper()
	req := &riskmeshv1.QueryRequest{Category: "black", Deadline: durationpb.New(5 * time.Second)}
	for _, v := range values {
		req.Identifiers = append(req.Identifiers, &riskmeshv1.Identifier{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: v})
	}
	stream, err := c.Query(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		ev, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r := ev.GetResult(); r != nil {
			return r
		}
	}
	t.Fatal("query stream ended without a result")
	return nil
}

// hits renders a result as "index:provider,provider" per item, "-" for a
// miss and "!" for an invalid identifier.
func hits(r *riskmeshv1.QueryResult) []string {
	var out []string
	for _, it := range r.GetItems() {
		s := "-"
		switch {
		case it.GetInvalidReason() != riskmeshv1.InvalidReason_INVALID_REASON_UNSPECIFIED:
			s = "!"
		case len(it.GetHits()) > 0:
			var ps []string
			for _, h := range it.GetHits() {
				ps = append(ps, h.GetProvider())
			}
			s = strings.Join(ps, ",")
		}
		out = append(out, fmt.Sprintf("%d:%s", it.GetIndex(), s))
	}
	return out
}

func TestNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four nodes")
	}
	ctx := context.Background()
	reg := newMember(t, regulator)
	bankA := newMember(t, "BankAMSP", "black")
	bankB := newMember(t, "BankBMSP", "black")
	bankC := newMember(t, "BankCMSP")

	consFile := consortiumFile(t, reg, bankA, bankB, bankC)

	run(t, daemon.Config{MSPID: regulator, DataDir: reg.dir, IdentityDir: reg.idDir, PeerListen: reg.endpoint,
		Ledger: daemon.LedgerConfig{Backend: daemon.BackendEmbedded, ConsortiumFile: consFile}})
	admin, closer := daemon.DialLedgerHost(reg.id, reg.endpoint, regulator, reg.id.Fingerprint, peer.Config{})
	t.Cleanup(func() { closer.Close() })
	roles := []accounting.Role{accounting.RoleRequester, accounting.RoleProvider}
	eventually(t, "regulator reachable", func() error { _, err := admin.Institutions(ctx); return err })
	for _, m := range []*member{bankA, bankB, bankC} {
		if err := admin.AddInstitution(ctx, m.msp, m.msp, roles); err != nil {
			t.Fatal(err)
		}
		if err := admin.SetLimit(ctx, m.msp, 1000); err != nil {
			t.Fatal(err)
		}
	}
	if err := admin.SetPrice(ctx, "black", 2); err != nil {
		t.Fatal(err)
	}
	// The regulator is also the consortium's auditor: its node, the ledger
	// host, registers its own profile once it is an institution.
	if err := admin.AddInstitution(ctx, regulator, regulator, []accounting.Role{accounting.RoleAuditor}); err != nil {
		t.Fatal(err)
	}

	remote := daemon.LedgerConfig{Backend: daemon.BackendEmbeddedRemote, HostMSPID: regulator,
		HostEndpoint: reg.endpoint, HostFingerprint: reg.id.Fingerprint}
	institution := func(m *member, sources ...provider.Source) daemon.Config {
		return daemon.Config{MSPID: m.msp, DataDir: m.dir, IdentityDir: m.idDir, PeerListen: m.endpoint,
			Ledger: remote, Registry: registry.Options{Refresh: 200 * time.Millisecond},
			Requester: &requester.Config{}, Provider: &provider.Config{Sources: sources}}
	}
	run(t, institution(bankA, csvSource(t, bankA.dir, "fraud",
		"+8613800000001,1,7,2024-03-01,A-1",
		"+8613800000003,1,8,2024-03-02,A-3")))
	stopB := run(t, institution(bankB, csvSource(t, bankB.dir, "fraud",
		"+8613800000002,1,9,2024-04-01,B-2",
		"+8613800000003,1,9,2024-04-02,B-3")))
	// Bank C files disputed answers with the regulator's auditor service;
	// none arise here, but the node starts with disputes on before the
	// auditor is reachable.
	withDisputes := institution(bankC)
	withDisputes.Disputes = &daemon.DisputeConfig{AuditorMSP: regulator, AuditorAddress: "127.0.0.1:1"}
	withDisputes.Requester = &requester.Config{ReconcileInterval: 200 * time.Millisecond}
	// Bank C's business systems take its query events on a webhook.
	hook := newPushReceiver(t)
	withDisputes.Push = &push.Config{Destinations: []push.Destination{hook.destination(t)}}
	run(t, withDisputes)

	eventually(t, "profiles registered", func() error {
		for _, m := range []*member{bankA, bankB, bankC} {
			in, err := admin.Institution(ctx, m.msp)
			if err != nil {
				return err
			}
			if in.Endpoint != m.endpoint {
				return fmt.Errorf("%s endpoint %q", m.msp, in.Endpoint)
			}
		}
		in, err := admin.Institution(ctx, regulator)
		if err != nil {
			return err
		}
		if !bytes.Equal(in.TLSFingerprint, reg.id.Fingerprint[:]) || len(in.SigningKey) == 0 {
			return fmt.Errorf("regulator's profile not registered: %+v", in)
		}
		return nil
	})
	if _, err := admin.Rollover(ctx); err != nil {
		t.Fatal(err)
	}
	client := apiClient(t, bankC)
	catalogsReady(t, client, 1)
	for _, tc := range []struct {
		m    *member
		want string
	}{
		{bankA, "catalogs ledger outbox"},
		{bankC, "ledger push"},
	} {
		c := apiClient(t, tc.m)
		eventually(t, tc.m.msp+" healthy", func() error {
			h, err := c.Health(ctx, &riskmeshv1.HealthRequest{})
			if err != nil {
				return err
			}
			var names []string
			for _, c := range h.GetComponents() {
				names = append(names, c.GetName())
			}
			if h.GetStatus() != riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING || strings.Join(names, " ") != tc.want || h.GetPeriod() != 1 {
				return fmt.Errorf("health = %v", h)
			}
			return nil
		})
	}

	r := query(t, client, "+86 138 0000 0001", "+8613800000002", "+8613800000003", "+8613800000009", "not a phone")
	want := []string{"0:BankAMSP", "1:BankBMSP", "2:BankAMSP,BankBMSP", "3:-", "4:!"}
	if got := hits(r); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("hits = %v, want %v", got, want)
	}
	if r.GetAmount() != 2*4*2 {
		t.Fatalf("amount = %d, want %d (2 providers x 4 items x 2 tokens)", r.GetAmount(), 2*4*2)
	}
	t.Run("errors", func(t *testing.T) {
		_, err := client.GetQuery(ctx, &riskmeshv1.GetQueryRequest{QueryId: "no-such-query"})
		if status.Code(err) != codes.NotFound {
			t.Errorf("GetQuery of an unknown id: %v", err)
		}
		_, err = apiClient(t, bankA).RefreshLists(ctx, &riskmeshv1.RefreshListsRequest{Sources: []string{"no-such-source"}})
		if status.Code(err) != codes.NotFound {
			t.Errorf("RefreshLists of an unknown source: %v", err)
		}
		got, err := client.GetQuery(ctx, &riskmeshv1.GetQueryRequest{QueryId: r.GetQueryId()})
		if err != nil || got.GetState() != riskmeshv1.QueryState_QUERY_STATE_COMPLETE {
			t.Errorf("GetQuery of the query: %v, %v", got.GetState(), err)
		}
	})
	l := r.GetItems()[0].GetHits()[0].GetLabel()
	if l.GetReasonCode() != 7 || l.GetListedDate() != "2024-03-01" || !strings.HasPrefix(string(l.GetProviderReference()), "A-1") {
		t.Fatalf("label = %v", l)
	}

	eventually(t, "entries recorded", func() error {
		page, err := admin.Entries(ctx, accounting.EntriesQuery{Period: 1, Party: bankC.msp})
		if err != nil {
			return err
		}
		if len(page.Entries) != 2 {
			return fmt.Errorf("%d entries", len(page.Entries))
		}
		for _, e := range page.Entries {
			if e.Amount != 8 || e.Count != 4 {
				return fmt.Errorf("entry amount %d count %d", e.Amount, e.Count)
			}
		}
		return nil
	})
	eventually(t, "bills reconciled", func() error {
		rep, err := client.Reconcile(ctx, &riskmeshv1.ReconcileRequest{Period: 1})
		if err != nil {
			return err
		}
		if rep.GetMatched() != 2 || rep.GetBilled() != 16 || rep.GetPending()+rep.GetDisputed()+rep.GetRecovered() != 0 {
			return fmt.Errorf("reconciliation %v, want both bills matched", rep)
		}
		return nil
	})
	t.Run("push", func(t *testing.T) { checkPushed(t, hook, client, r) })

	newOPRFKey := rotateKeys(t, admin, reg, bankA, bankC)
	r = query(t, client, "+86 138 0000 0001", "+8613800000002", "+8613800000003", "+8613800000009", "not a phone")
	if got := hits(r); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("hits after key rotations = %v, want %v; providers %v", got, want, r.GetProviders())
	}
	eventually(t, "entries under rotated keys recorded", func() error {
		page, err := admin.Entries(ctx, accounting.EntriesQuery{Period: 1, Party: bankC.msp})
		if err != nil {
			return err
		}
		if len(page.Entries) != 4 {
			return fmt.Errorf("%d entries", len(page.Entries))
		}
		return nil
	})

	if _, err := admin.Rollover(ctx); err != nil {
		t.Fatal(err)
	}
	if err := admin.ClosePeriod(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for done := false; !done; {
		res, err := admin.Settle(ctx, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		done = res.Done
	}
	balances := func() map[string]int64 {
		t.Helper()
		accts, err := admin.Accounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, a := range accts {
			out[a.MSPID] = a.Balance
		}
		return out
	}
	b := balances()
	if b[bankC.msp] != -32 || b[bankA.msp] != 16 || b[bankB.msp] != 16 {
		t.Fatalf("balances after settle = %v", b)
	}
	if _, err := admin.TakeSnapshot(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for msp, v := range balances() {
		if v != 0 {
			t.Fatalf("%s balance %d after snapshot", msp, v)
		}
	}

	// A provider going down: its part is UNAVAILABLE (not billed), the
	// other still answers (BankA from its first catalog under its rotated
	// OPRF key).
	catalogsReady(t, client, 2)
	if c, err := admin.Catalog(ctx, bankA.msp, "black", 2); err != nil || !bytes.Equal(c.OPRFKey, newOPRFKey) {
		t.Fatalf("BankA's period-2 catalog: %v, %v; want it under the rotated OPRF key", c, err)
	}
	stopB()
	r = query(t, client, "+8613800000001", "+8613800000002")
	status := map[string]riskmeshv1.ProviderStatus{}
	for _, p := range r.GetProviders() {
		status[p.GetProvider()] = p.GetStatus()
	}
	if status[bankA.msp] != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED ||
		status[bankB.msp] != riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE {
		t.Fatalf("provider statuses = %v", status)
	}
	if got := hits(r); strings.Join(got, " ") != "0:BankAMSP 1:-" || r.GetAmount() != 4 {
		t.Fatalf("with BankB down: hits %v, amount %d", got, r.GetAmount())
	}
}

// rotateKeys rotates, while the network runs in period 1, the signing key,
// TLS certificate and "black" OPRF key of provider and the signing key of
// requester (which has queried provider before), checks what the ledger
// then holds, and that every exchange made before the rotation still
// passes `riskmesh audit verify`'s checks against the ledger. It returns
// provider's new OPRF public key, which builds its period-2 catalog.
func rotateKeys(t *testing.T, admin accounting.Ledger, host, provider, requester *member) (oprfKey []byte) {
	t.Helper()
	ctx := context.Background()
	before, err := admin.Entries(ctx, accounting.EntriesQuery{Period: 1, Party: requester.msp})
	if err != nil || len(before.Entries) == 0 {
		t.Fatalf("entries before the rotation: %v, %v", before, err)
	}
	rotate := func(m *member, kind riskmeshv1.KeyKind, category string, effective uint64) *riskmeshv1.RotateKeysResponse {
		t.Helper()
		resp, err := apiClient(t, m).RotateKeys(ctx, &riskmeshv1.RotateKeysRequest{Kind: kind, Category: category})
		if err != nil {
			t.Fatalf("%s: rotate %s: %v", m.msp, kind, err)
		}
		if resp.GetKind() != kind || len(resp.GetPublicKey()) == 0 || resp.GetEffectivePeriod() != effective {
			t.Fatalf("%s: rotate %s = %v", m.msp, kind, resp)
		}
		return resp
	}
	signing := rotate(provider, riskmeshv1.KeyKind_KEY_KIND_SIGNING, "", 1)
	cert := rotate(provider, riskmeshv1.KeyKind_KEY_KIND_TLS, "", 1)
	// The period's catalog is published under the old OPRF key: the new one
	// builds the next period's.
	oprfResp := rotate(provider, riskmeshv1.KeyKind_KEY_KIND_OPRF, "black", 2)
	rotate(requester, riskmeshv1.KeyKind_KEY_KIND_SIGNING, "", 1)
	for _, refused := range []struct {
		m   *member
		req *riskmeshv1.RotateKeysRequest
	}{
		{host, &riskmeshv1.RotateKeysRequest{Kind: riskmeshv1.KeyKind_KEY_KIND_TLS}},
		// Dropping the previous OPRF key would orphan this period's catalog.
		{provider, &riskmeshv1.RotateKeysRequest{Kind: riskmeshv1.KeyKind_KEY_KIND_OPRF, Category: "black"}},
	} {
		_, err := apiClient(t, refused.m).RotateKeys(ctx, refused.req)
		if status.Code(err) != codes.FailedPrecondition {
			t.Fatalf("%s: %v: %v, want FailedPrecondition", refused.m.msp, refused.req, err)
		}
	}

	inst, err := admin.Institution(ctx, provider.msp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(inst.SigningKey, signing.GetPublicKey()) || !bytes.Equal(inst.TLSFingerprint, cert.GetKeyId()) ||
		len(inst.PastSigningKeys) != 1 || len(inst.SigningKeysIn(1)) != 2 {
		t.Fatalf("%s's registry record after rotation: %d replaced signing keys, %d valid in period 1", provider.msp, len(inst.PastSigningKeys), len(inst.SigningKeysIn(1)))
	}
	for _, e := range before.Entries {
		resp, err := apiClient(t, requester).GetTranscript(ctx, &riskmeshv1.GetTranscriptRequest{
			Period: e.Key.Period, Responder: e.Key.Responder, Sequence: e.Key.Sequence})
		if err != nil {
			t.Fatal(err)
		}
		tr, err := transcript.Parse(resp.GetTranscript())
		if err != nil {
			t.Fatal(err)
		}
		rep, err := audit.Verify(ctx, tr, admin)
		if err != nil || !rep.OK() {
			t.Fatalf("transcript %s after rotation: %v, failed %v", e.Key.String(), err, rep.Failed())
		}
	}
	return oprfResp.GetPublicKey()
}

// catalogsReady waits until c's node holds both providers' verified
// catalogs for period.
func catalogsReady(t *testing.T, c riskmeshv1.RiskMeshClient, period uint64) {
	t.Helper()
	eventually(t, fmt.Sprintf("period %d catalogs downloaded", period), func() error {
		st, err := c.CatalogStatus(context.Background(), &riskmeshv1.CatalogStatusRequest{Category: "black"})
		if err != nil {
			return err
		}
		ready := 0
		for _, c := range st.GetRemote() {
			if c.GetPeriod() == period && c.GetState() == riskmeshv1.CatalogState_CATALOG_STATE_READY {
				ready++
			}
		}
		if ready != 2 {
			return fmt.Errorf("%d of 2 catalogs ready: %v", ready, st.GetRemote())
		}
		return nil
	})
}

// checkPushed: Bank C's webhook received each provider's part and the
// merged result of query r as the Query stream showed them, then the
// reconciliation of both bills, signed; the admin API lists no dead event
// and knows its destination.
func checkPushed(t *testing.T, hook *pushReceiver, client riskmeshv1.RiskMeshClient, r *riskmeshv1.QueryResult) {
	// A bill may first be PENDING (the provider recorded it before this
	// node stored the answer), then MATCHED: the latest event per bill
	// counts.
	eventually(t, "query and reconciliation events pushed", func() error {
		latest := map[string]*riskmeshv1.PushEvent{}
		for _, ev := range hook.events(riskmeshv1.PushEventType_PUSH_EVENT_TYPE_RECONCILED) {
			if prev := latest[ev.Stream]; prev == nil || ev.StreamSequence > prev.StreamSequence {
				latest[ev.Stream] = ev
			}
		}
		if len(latest) != 2 {
			return fmt.Errorf("reconciliation events of %d bills", len(latest))
		}
		for _, ev := range latest {
			if ev.Reconciled.GetState() != riskmeshv1.ReconcileState_RECONCILE_STATE_MATCHED || ev.Reconciled.GetAmount() != 8 {
				return fmt.Errorf("latest reconciliation event %v, want a matched bill of 8", ev)
			}
		}
		return nil
	})
	results := hook.events(riskmeshv1.PushEventType_PUSH_EVENT_TYPE_QUERY_RESULT)
	parts := hook.events(riskmeshv1.PushEventType_PUSH_EVENT_TYPE_PROVIDER_RESULT)
	if len(results) != 1 || !proto.Equal(results[0].Result, r) || results[0].QueryId != r.GetQueryId() || results[0].StreamSequence != 3 {
		t.Fatalf("pushed results %v, want the query's result as its third event", results)
	}
	if len(parts) != 2 || parts[0].StreamSequence != 1 || parts[1].StreamSequence != 2 || parts[0].ProviderResult.Provider == parts[1].ProviderResult.Provider {
		t.Fatalf("pushed provider parts %v, want one per provider, first", parts)
	}
	dead, err := client.ListDeadEvents(t.Context(), &riskmeshv1.ListDeadEventsRequest{})
	if err != nil || len(dead.GetEvents()) != 0 {
		t.Errorf("ListDeadEvents = %v, %v", dead, err)
	}
	if _, err := client.ReplayDeadEvents(t.Context(), &riskmeshv1.ReplayDeadEventsRequest{Destination: "elsewhere"}); status.Code(err) != codes.NotFound {
		t.Errorf("ReplayDeadEvents to an unknown destination: %v, want NotFound", err)
	}
}
