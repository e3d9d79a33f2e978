package localnet_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/localnet"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// TestStartMovesNodeOffTakenPort forces the collision two programs picking
// ports by listen-and-close can run into: the regulator's peer port and a
// member's metrics and profiles ports (Config.Pprof) are held by this test
// when the nodes bind them, so both nodes exit at start. The network still starts, with both moved to
// fresh ports (the regulator before the members, whose node.yaml name its
// endpoint).
func TestStartMovesNodeOffTakenPort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Picks go regulator (peer, metrics, profiles), then each member in
	// order.
	var (
		mu    sync.Mutex
		picks = map[string]int{}
		held  = map[string][]string{} // network: the addresses this test holds
	)
	// The regulator's peer, P1MSP's metrics and profiles.
	takeAt := map[string][]int{"udp": {1}, "tcp": {3, 4}}
	restore := localnet.SetPickAddr(func(network string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		picks[network]++
		if !slices.Contains(takeAt[network], picks[network]) {
			return localnet.FreeAddr(network)
		}
		addr, closer := hold(t, network)
		t.Cleanup(func() { closer.Close() })
		held[network] = append(held[network], addr)
		return addr, nil
	})
	defer restore()

	nw, err := localnet.Start(ctx, localnet.Config{
		Dir:    filepath.Join(t.TempDir(), "net"),
		Binary: binary,
		Members: []localnet.Member{
			{MSPID: "P1MSP", Categories: []string{"black"}, Sources: []config.Source{csvSource(t, t.TempDir(), "P1")}},
			{MSPID: "ReqMSP"},
		},
		StopTimeout: time.Minute,
		Pprof:       true,
	})
	if err != nil {
		t.Fatalf("start with three taken ports: %v", err)
	}
	t.Cleanup(func() {
		if err := nw.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	if len(held["udp"]) != 1 || len(held["tcp"]) != 2 {
		t.Fatalf("the test took %v: want the regulator's peer port and P1MSP's metrics and profiles ports", held)
	}
	if got := nw.Regulator().Endpoint; got == held["udp"][0] {
		t.Errorf("the regulator still at the taken peer address %s", got)
	}
	p1, err := nw.Node("P1MSP")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(held["tcp"], p1.Metrics) || slices.Contains(held["tcp"], p1.Pprof) {
		t.Errorf("P1MSP still at a taken address: metrics %s, profiles %s (taken %v)", p1.Metrics, p1.Pprof, held["tcp"])
	}
	if resp, err := http.Get("http://" + p1.Pprof + "/debug/pprof/"); err != nil {
		t.Errorf("P1MSP's profiles at %s: %v", p1.Pprof, err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusOK {
		t.Errorf("P1MSP's profiles at %s: %s", p1.Pprof, resp.Status)
	}
	// Every node serves and answers where the network says it listens.
	c, err := nw.Client("ReqMSP")
	if err != nil {
		t.Fatal(err)
	}
	if h, err := c.Health(ctx, &riskmeshv1.HealthRequest{}); err != nil || h.GetStatus() == riskmeshv1.HealthStatus_HEALTH_STATUS_NOT_SERVING {
		t.Fatalf("health of ReqMSP: %v (%v)", h, err)
	}
	if in, err := nw.Admin().Institution(ctx, "P1MSP"); err != nil || in.Endpoint != p1.Endpoint {
		t.Fatalf("P1MSP registered at %v (%v), want %s", in, err, p1.Endpoint)
	}
}

// TestStartMovesAuditorOffTakenPort holds the auditor service's port when
// it binds it, so the service exits at start. The network still starts,
// with the service on a fresh port that completes a handshake as the
// regulator and that the member's node.yaml names.
func TestStartMovesAuditorOffTakenPort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node processes and the auditor service")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// TCP picks go the regulator's metrics, the member's, then the
	// auditor service's.
	const auditorPick = 3
	var (
		mu    sync.Mutex
		picks int
		held  string
	)
	restore := localnet.SetPickAddr(func(network string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if network != "tcp" {
			return localnet.FreeAddr(network)
		}
		if picks++; picks != auditorPick {
			return localnet.FreeAddr(network)
		}
		addr, closer := hold(t, network)
		t.Cleanup(func() { closer.Close() })
		held = addr
		return addr, nil
	})
	defer restore()

	nw, err := localnet.Start(ctx, localnet.Config{
		Dir:         filepath.Join(t.TempDir(), "net"),
		Binary:      binary,
		Members:     []localnet.Member{{MSPID: "ReqMSP"}},
		Auditor:     true,
		StopTimeout: time.Minute,
	})
	if err != nil {
		t.Fatalf("start with the auditor's port taken: %v", err)
	}
	t.Cleanup(func() {
		if err := nw.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	if held == "" {
		t.Fatalf("the test took no port after %d TCP picks: want the auditor service's", picks)
	}
	got := nw.AuditorAddress()
	if got == held {
		t.Fatalf("the auditor service still at the taken address %s", got)
	}
	member, err := nw.Node("ReqMSP")
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(member.Config())
	if err != nil {
		t.Fatal(err)
	}
	if c.Disputes.AuditorAddress != got {
		t.Fatalf("ReqMSP files disputes with %s, want the auditor service's new address %s", c.Disputes.AuditorAddress, got)
	}
}

// hold binds a loopback port of network ("udp" or "tcp") and keeps it.
func hold(t *testing.T, network string) (string, io.Closer) {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return c.LocalAddr().String(), c
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l.Addr().String(), l
}

// TestFreeAddrNeverTwice: picks in one process never repeat a port, which
// listen-and-close alone does within a few hundred picks (about 28,000
// ephemeral ports).
func TestFreeAddrNeverTwice(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		seen := map[string]bool{}
		for range 500 {
			addr, err := localnet.FreeAddr(network)
			if err != nil {
				t.Fatal(err)
			}
			if seen[addr] {
				t.Fatalf("%s address %s handed out twice", network, addr)
			}
			seen[addr] = true
		}
	}
}
