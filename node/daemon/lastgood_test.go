package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/daemon"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/node/requester"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// BankA's list export turns malformed at rollover. Its node keeps serving
// period 2 from the last good read: the regulator's query over QUIC finds
// the old list, BankA's health is DEGRADED naming the source and the age
// of that read, its catalog status names the source, its metric
// riskmesh_list_source_stale_seconds gives that age, and a restart changes
// none of it. Once the export is fixed and refreshed the report clears and
// period 3's catalog holds the new list.
func TestMalformedExportKeepsProviderServing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two nodes")
	}
	ctx := context.Background()
	const header = "id,cat,reason,listed,ref\n"
	exportDir := t.TempDir()
	nodes := startRegulatorAndBankA(t, csvSource(t, exportDir, "fraud", "+8613800000001,1,7,2024-03-01,A-1"))
	admin, cfgA, stopA := nodes.admin, nodes.cfgA, nodes.stopA
	export := filepath.Join(exportDir, "fraud.csv")
	client, clientA := apiClient(t, nodes.reg), apiClient(t, nodes.bankA)
	rollover := func(period uint64) {
		t.Helper()
		if period > 2 {
			if err := admin.ClosePeriod(ctx, period-2); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := admin.Rollover(ctx); err != nil {
			t.Fatal(err)
		}
		eventually(t, fmt.Sprintf("BankA's period %d catalog downloaded", period), func() error {
			st, err := client.CatalogStatus(ctx, &riskmeshv1.CatalogStatusRequest{Category: "black"})
			if err != nil {
				return err
			}
			for _, c := range st.GetRemote() {
				if c.GetPeriod() == period && c.GetState() == riskmeshv1.CatalogState_CATALOG_STATE_READY {
					return nil
				}
			}
			return fmt.Errorf("remote catalogs %v", st.GetRemote())
		})
	}
	wantHits := func(want string) {
		t.Helper()
		eventually(t, "hits "+want, func() error {
			r := query(t, client, "+8613800000001", "+8613800000002")
			if got := strings.Join(hits(r), " "); got != want {
				return fmt.Errorf("hits %s, providers %v", got, r.GetProviders())
			}
			return nil
		})
	}
	// health waits for BankA's catalogs component to be in state st with a
	// message holding every one of parts.
	health := func(st riskmeshv1.HealthStatus, parts ...string) {
		t.Helper()
		eventually(t, fmt.Sprintf("BankA's catalogs %v %q", st, parts), func() error {
			h, err := clientA.Health(ctx, &riskmeshv1.HealthRequest{})
			if err != nil {
				return err
			}
			for _, c := range h.GetComponents() {
				if c.GetName() != "catalogs" || c.GetStatus() != st {
					continue
				}
				for _, p := range parts {
					if !strings.Contains(c.GetMessage(), p) {
						return fmt.Errorf("catalogs component %v", c)
					}
				}
				if strings.Contains(c.GetMessage(), "8613800000002") {
					t.Fatalf("health message holds a listed identifier: %s", c.GetMessage())
				}
				return nil
			}
			return fmt.Errorf("health %v", h)
		})
	}

	rollover(1)
	wantHits("0:BankAMSP 1:-")
	health(riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING)

	// The export is cut off in a quoted field: the CSV reader cannot go on.
	if err := os.WriteFile(export, []byte(header+"+8613800000002,1,7,2024-03-01,A-2\n\"+8613800000003,1,7"), 0o600); err != nil {
		t.Fatal(err)
	}
	rollover(2)
	wantHits("0:BankAMSP 1:-")
	health(riskmeshv1.HealthStatus_HEALTH_STATUS_DEGRADED, "source fraud unreadable", "last good read of")
	st, err := clientA.CatalogStatus(ctx, &riskmeshv1.CatalogStatusRequest{Category: "black"})
	if err != nil {
		t.Fatal(err)
	}
	local := st.GetLocal()[len(st.GetLocal())-1]
	if local.GetPeriod() != 2 || !local.GetServing() || len(local.GetStaleSources()) != 1 || local.GetStaleSources()[0].GetSource() != "fraud" {
		t.Fatalf("BankA's period 2 catalog %v, want serving, built from fraud's last good read", local)
	}

	stopA()
	cfgA.MetricsListen = freeTCP(t)
	stopA = run(t, cfgA)
	health(riskmeshv1.HealthStatus_HEALTH_STATUS_DEGRADED, "source fraud unreadable", "last good read of")
	wantHits("0:BankAMSP 1:-")
	// stale waits for BankA's riskmesh_list_source_stale_seconds{source="fraud"}
	// to be positive or zero.
	stale := func(positive bool) {
		t.Helper()
		eventually(t, fmt.Sprintf("fraud's staleness positive=%v", positive), func() error {
			resp, err := http.Get("http://" + cfgA.MetricsListen + "/metrics")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			for line := range strings.Lines(string(body)) {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), `riskmesh_list_source_stale_seconds{source="fraud"} `); ok {
					if f, err := strconv.ParseFloat(v, 64); err != nil || (f > 0) != positive || f < 0 {
						return fmt.Errorf("series %q", line)
					}
					return nil
				}
			}
			return errors.New("no riskmesh_list_source_stale_seconds for fraud")
		})
	}
	stale(true)

	if err := os.WriteFile(export, []byte(header+"+8613800000002,1,7,2024-03-01,A-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ref, err := clientA.RefreshLists(ctx, &riskmeshv1.RefreshListsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if imp := ref.GetImports(); len(imp) != 1 || imp[0].GetError() != "" || imp[0].GetAccepted() != 1 {
		t.Fatalf("refresh of the fixed export: %v", imp)
	}
	health(riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING)
	stale(false)
	rollover(3)
	wantHits("0:- 1:BankAMSP")
	stopA()
}

// regulatorAndBankA is a two-node consortium: the regulator's node hosts
// the embedded ledger and queries as a requester (limit 1,000,000), BankA
// provides "black" (price 1) from its sources; both profiles are
// registered, no period is open yet.
type regulatorAndBankA struct {
	reg, bankA     *member
	admin          accounting.Ledger
	cfgA           daemon.Config
	stopReg, stopA func()
}

func startRegulatorAndBankA(t *testing.T, sources ...provider.Source) *regulatorAndBankA {
	t.Helper()
	ctx := context.Background()
	n := &regulatorAndBankA{reg: newMember(t, regulator), bankA: newMember(t, "BankAMSP", "black")}
	reg, bankA := n.reg, n.bankA
	n.stopReg = run(t, daemon.Config{MSPID: regulator, DataDir: reg.dir, IdentityDir: reg.idDir, PeerListen: reg.endpoint,
		Ledger:    daemon.LedgerConfig{Backend: daemon.BackendEmbedded, ConsortiumFile: consortiumFile(t, reg, bankA)},
		Registry:  registry.Options{Refresh: 200 * time.Millisecond},
		Requester: &requester.Config{}})
	admin, closer := daemon.DialLedgerHost(reg.id, reg.endpoint, regulator, reg.id.Fingerprint, peer.Config{})
	t.Cleanup(func() { closer.Close() })
	n.admin = admin
	eventually(t, "regulator reachable", func() error { _, err := admin.Institutions(ctx); return err })
	for _, step := range []func() error{
		func() error {
			return admin.AddInstitution(ctx, bankA.msp, bankA.msp, []accounting.Role{accounting.RoleProvider})
		},
		func() error {
			return admin.AddInstitution(ctx, regulator, regulator, []accounting.Role{accounting.RoleRequester})
		},
		func() error { return admin.SetLimit(ctx, regulator, 1_000_000) },
		func() error { return admin.SetPrice(ctx, "black", 1) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	n.cfgA = daemon.Config{MSPID: bankA.msp, DataDir: bankA.dir, IdentityDir: bankA.idDir, PeerListen: bankA.endpoint,
		Ledger: daemon.LedgerConfig{Backend: daemon.BackendEmbeddedRemote, HostMSPID: regulator,
			HostEndpoint: reg.endpoint, HostFingerprint: reg.id.Fingerprint},
		Registry: registry.Options{Refresh: 200 * time.Millisecond},
		Provider: &provider.Config{Sources: sources}}
	n.stopA = run(t, n.cfgA)
	eventually(t, "profiles registered", func() error {
		for _, msp := range []string{bankA.msp, regulator} {
			if in, err := admin.Institution(ctx, msp); err != nil || len(in.SigningKey) == 0 {
				return fmt.Errorf("%s: %+v, %v", msp, in, err)
			}
		}
		return nil
	})
	return n
}

// freeTCP returns a loopback address with a TCP port that was free a
// moment ago.
func freeTCP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
