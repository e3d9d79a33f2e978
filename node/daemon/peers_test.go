package daemon

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/identity/identitytest"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// testIdentity generates and loads an identity for msp.
func testIdentity(t *testing.T, msp string, categories ...string) *identity.Identity {
	t.Helper()
	return identitytest.New(t, filepath.Join(t.TempDir(), "identity"), msp, categories...)
}

// ledgerAs opens an embedded ledger and returns the regulator's and msp's
// views of it.
func ledgerAs(t *testing.T, msp string) (regulator, inst accounting.Ledger) {
	t.Helper()
	store, err := accounting.OpenEmbedded(filepath.Join(t.TempDir(), "ledger.db"), accounting.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg, err := store.As(accounting.DefaultRegulator)
	if err != nil {
		t.Fatal(err)
	}
	in, err := store.As(msp)
	if err != nil {
		t.Fatal(err)
	}
	return reg, in
}

func TestRegisterSelf(t *testing.T) {
	ctx := context.Background()
	id := testIdentity(t, "Bank1MSP", "black", "grey")
	reg, bank := ledgerAs(t, id.MSPID)
	dir := registry.New(bank, registry.Options{})
	refresh := func() *registry.View {
		t.Helper()
		if err := dir.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		return dir.View()
	}

	if _, err := registerSelf(ctx, bank, refresh(), id, "127.0.0.1:7400"); !errors.Is(err, errNotRegistered) {
		t.Fatalf("before onboarding: %v, want errNotRegistered", err)
	}
	if err := reg.AddInstitution(ctx, id.MSPID, "Bank One", []accounting.Role{accounting.RoleProvider}); err != nil {
		t.Fatal(err)
	}
	txs, err := registerSelf(ctx, bank, refresh(), id, "127.0.0.1:7400")
	if err != nil || txs != 3 {
		t.Fatalf("first registration: %d transactions, %v; want profile + 2 OPRF keys", txs, err)
	}
	v := refresh()
	in, _ := v.Institution(id.MSPID)
	if in.Endpoint != "127.0.0.1:7400" || [32]byte(in.TLSFingerprint) != id.Fingerprint || len(in.OPRFKeys) != 2 {
		t.Fatalf("registry record = %+v", in)
	}
	if txs, err := registerSelf(ctx, bank, v, id, "127.0.0.1:7400"); err != nil || txs != 0 {
		t.Fatalf("unchanged restart: %d transactions, %v; want none", txs, err)
	}
	if txs, err := registerSelf(ctx, bank, v, id, "10.0.0.1:7400"); err != nil || txs != 1 {
		t.Fatalf("moved endpoint: %d transactions, %v; want 1", txs, err)
	}
}

func TestSuspendedPeerCutOff(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	server := testIdentity(t, "Bank1MSP")
	client := testIdentity(t, "Bank2MSP")
	reg, bank2 := ledgerAs(t, client.MSPID)
	for _, id := range []*identity.Identity{server, client} {
		if err := reg.AddInstitution(ctx, id.MSPID, id.MSPID, []accounting.Role{accounting.RoleRequester}); err != nil {
			t.Fatal(err)
		}
	}
	if err := bank2.UpdateProfile(ctx, accounting.Profile{Endpoint: "127.0.0.1:1", TLSFingerprint: client.Fingerprint[:], SigningKey: client.SigningKey}); err != nil {
		t.Fatal(err)
	}
	dir := registry.New(reg, registry.Options{})
	if err := dir.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	d := &dispatcher{active: dir.Authorize, provider: echo{}}
	srv, err := peer.Listen(ctx, "127.0.0.1:0", peer.Config{Certificate: server.Certificate, Authorizer: authorizer{dir: dir}, Handler: d.handle})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go watchRevocations(ctx, dir, srv, discard)

	c, err := peer.Dial(ctx, srv.Addr().String(), peer.Config{Certificate: client.Certificate, Authorizer: pinned(server.MSPID, server.Fingerprint)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogInfo{CatalogInfo: &riskmeshv1.CatalogInfoRequest{Provider: server.MSPID, Category: "black", Period: 1}}}
	if _, err := c.Do(ctx, req); err != nil {
		t.Fatalf("active peer: %v", err)
	}
	if _, err := c.Do(ctx, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LedgerInvoke{LedgerInvoke: &riskmeshv1.LedgerInvoke{Function: "x"}}}); !isCode(err, riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND) {
		t.Fatalf("ledger call to a node not hosting the ledger: %v", err)
	}

	changed := dir.Changes()
	if err := reg.SuspendInstitution(ctx, client.MSPID); err != nil {
		t.Fatal(err)
	}
	if err := dir.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	<-changed
	// From the refresh on, the dispatcher refuses the suspended peer's
	// requests (UNKNOWN_PEER) and, once the watcher has run, its
	// connection is closed (SUSPENDED). Polling is the only way to see
	// the watcher's effect from outside.
	for range 500 {
		_, err = c.Do(ctx, req)
		if isCode(err, riskmeshv1.ErrorCode_ERROR_CODE_SUSPENDED) {
			return
		}
		if !isCode(err, riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_PEER) {
			t.Fatalf("suspended peer's request: %v, want UNKNOWN_PEER or SUSPENDED", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("connection of the suspended peer not closed: last error %v", err)
}

func isCode(err error, code riskmeshv1.ErrorCode) bool {
	var re *peer.RemoteError
	return errors.As(err, &re) && re.Code == code
}

// echo answers every provider request with an empty catalog info.
type echo struct{}

func (echo) Handle(_ context.Context, _ peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_CatalogInfo{CatalogInfo: &riskmeshv1.CatalogInfo{}}}
}

var discard = slog.New(slog.DiscardHandler)
