package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/ledgerrelay"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// TestAdversaryConsortiumCertificateAfterRegistration plays two members
// against the ledger host as the daemon wires it (openLedger's relay and
// consortium file, the node's authorizer and dispatcher, real QUIC): BankA
// keeps the certificate the consortium file lists after rotating to
// another, ZBank keeps its certificate after being suspended. Whether over
// the connection they opened while it was valid or over a new one, neither
// can relay UpdateProfile to re-pin its endpoint and keys, and their
// records stay as the honest history left them.
func TestAdversaryConsortiumCertificateAfterRegistration(t *testing.T) {
	ctx := context.Background()
	host := testIdentity(t, "RegulatorMSP")
	listedA, rotatedA := testIdentity(t, "BankAMSP"), testIdentity(t, "BankAMSP")
	z := testIdentity(t, "ZBankMSP")
	var members []identity.Member
	for _, id := range []*identity.Identity{listedA, z} {
		members = append(members, identity.Member{MSPID: id.MSPID, Name: id.MSPID, Roles: []accounting.Role{accounting.RoleRequester},
			TLSFingerprint: id.Fingerprint, SigningKey: id.SigningKey})
	}
	cons, err := identity.NewConsortium(members)
	if err != nil {
		t.Fatal(err)
	}
	data, err := cons.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	consFile := filepath.Join(t.TempDir(), "consortium.yaml")
	if err := os.WriteFile(consFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{MSPID: host.MSPID, DataDir: t.TempDir(), Ledger: LedgerConfig{Backend: BackendEmbedded, ConsortiumFile: consFile}}
	lc, err := openLedger(cfg, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lc.closer.Close() })
	reg := lc.Ledger
	dir := registry.New(reg, registry.Options{})
	d := &dispatcher{active: dir.Authorize, relay: lc.relay}
	srv, err := peer.Listen(ctx, "127.0.0.1:0", peer.Config{Certificate: host.Certificate, Authorizer: authorizer{dir: dir, members: lc.members}, Handler: d.handle})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	relayed := func(id *identity.Identity) accounting.Ledger {
		l, conn := DialLedgerHost(id, srv.Addr().String(), host.MSPID, host.Fingerprint, peer.Config{})
		t.Cleanup(func() { conn.Close() })
		return l
	}
	refresh := func() {
		t.Helper()
		if err := dir.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	record := func(msp string) string {
		t.Helper()
		inst, err := reg.Institution(ctx, msp)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%+v", *inst)
	}
	profile := func(id *identity.Identity, endpoint string) accounting.Profile {
		return accounting.Profile{Endpoint: endpoint, TLSFingerprint: id.Fingerprint[:], SigningKey: id.SigningKey}
	}
	for _, msp := range []string{listedA.MSPID, z.MSPID} {
		if err := reg.AddInstitution(ctx, msp, msp, []accounting.Role{accounting.RoleRequester}); err != nil {
			t.Fatal(err)
		}
	}
	refresh()

	t.Run("RotatedAway", func(t *testing.T) {
		live := relayed(listedA)
		// The listed certificate admits BankA until its first registration,
		// and carries the rotation to its next certificate.
		if err := live.UpdateProfile(ctx, profile(listedA, "bank-a.example:7443")); err != nil {
			t.Fatalf("first registration through the listed certificate: %v", err)
		}
		if err := live.UpdateProfile(ctx, profile(rotatedA, "bank-a.example:7443")); err != nil {
			t.Fatal(err)
		}
		honest := record(listedA.MSPID)
		refresh()

		attack := profile(listedA, "attacker.example:7443")
		if err := live.UpdateProfile(ctx, attack); !errors.Is(err, accounting.ErrForbidden) {
			t.Fatalf("re-pin over the live connection: %v, want forbidden", err)
		}
		if err := relayed(listedA).UpdateProfile(ctx, attack); !errors.Is(err, ledgerrelay.ErrUnreachable) {
			t.Fatalf("re-pin over a new connection: %v, want the handshake refused", err)
		}
		if got := record(listedA.MSPID); got != honest {
			t.Fatalf("BankA's record changed:\n%s\n%s", honest, got)
		}
		if _, err := relayed(rotatedA).Prices(ctx); err != nil {
			t.Fatalf("BankA's registered certificate: %v", err)
		}
	})
	t.Run("Suspended", func(t *testing.T) {
		live := relayed(z)
		if err := live.UpdateProfile(ctx, profile(z, "zbank.example:7443")); err != nil {
			t.Fatal(err)
		}
		if err := reg.SuspendInstitution(ctx, z.MSPID); err != nil {
			t.Fatal(err)
		}
		honest := record(z.MSPID)

		attack := profile(z, "attacker.example:7443")
		if err := live.UpdateProfile(ctx, attack); !errors.Is(err, accounting.ErrForbidden) {
			t.Fatalf("update over the live connection: %v, want forbidden", err)
		}
		refresh()
		if err := relayed(z).UpdateProfile(ctx, attack); !errors.Is(err, ledgerrelay.ErrUnreachable) {
			t.Fatalf("update over a new connection: %v, want the handshake refused", err)
		}
		if got := record(z.MSPID); got != honest {
			t.Fatalf("ZBank's record changed:\n%s\n%s", honest, got)
		}
	})
}

// TestIdleMemberAsksTheHostNothing wires a ledger host as the daemon does
// (the relay, the registry watch and the poke after each relayed
// transaction, real QUIC) and a member Directory that follows it: while
// nothing changes the member makes no relayed ledger call, though its
// Refresh of 1 ms would make hundreds polling; a transaction relayed by
// someone else reaches its view without anyone refreshing the host by hand.
func TestIdleMemberAsksTheHostNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // before the cleanups close the ledger
	host := testIdentity(t, "RegulatorMSP")
	lc, err := openLedger(&Config{MSPID: host.MSPID, DataDir: t.TempDir(), Ledger: LedgerConfig{Backend: BackendEmbedded}}, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lc.closer.Close() })
	dir := registry.New(lc.Ledger, registry.Options{Refresh: time.Millisecond, Poked: true})
	wg.Go(func() { dir.Run(ctx) })
	var invokes atomic.Int64
	d := &dispatcher{active: dir.Authorize, committed: dir.Poke,
		relay: func(ctx context.Context, p peer.Identity, call *riskmeshv1.LedgerInvoke) *riskmeshv1.PeerResponse {
			invokes.Add(1)
			return lc.relay(ctx, p, call)
		},
		watch: ledgerrelay.NewWatcher(dir.WaitChange, ledgerrelay.Registered(viewRegistry(dir), lc.members)),
	}
	srv, err := peer.Listen(ctx, "127.0.0.1:0", peer.Config{Certificate: host.Certificate, Authorizer: authorizer{dir: dir, members: lc.members}, Handler: d.handle})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	// The host's own identity is the one the relay admits before anyone
	// registers: the member here, and the writer (an admin command) too.
	l, conn := DialLedgerHost(host, srv.Addr().String(), host.MSPID, host.Fingerprint, peer.Config{})
	t.Cleanup(func() { conn.Close() })
	member := registry.New(l, registry.Options{Refresh: time.Millisecond, Watch: ledgerrelay.Watch(conn.Do)})
	changes := member.Changes()
	wg.Go(func() { member.Run(ctx) })
	<-changes

	before := invokes.Load()
	time.Sleep(200 * time.Millisecond)
	if n := invokes.Load() - before; n != 0 {
		t.Fatalf("an idle member made %d relayed ledger calls in 200 ms", n)
	}
	changes = member.Changes()
	writer, closer := DialLedgerHost(host, srv.Addr().String(), host.MSPID, host.Fingerprint, peer.Config{})
	t.Cleanup(func() { closer.Close() })
	if err := writer.AddInstitution(ctx, "BankAMSP", "Bank A", []accounting.Role{accounting.RoleRequester}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changes:
	case <-time.After(30 * time.Second):
		t.Fatal("the relayed change did not reach the member: the host was not poked, or the watch not answered")
	}
	if _, ok := member.View().Institution("BankAMSP"); !ok {
		t.Fatal("the member's view after the relayed change does not hold it")
	}
}
