package dispute_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/accounting/fabric"
	deployfabric "github.com/riskmesh/riskmesh/deploy/fabric"
)

// fabricGate runs the Fabric variant (make test-fabric): TestMain brings a
// real Fabric network (deploy/fabric) up once for this test binary.
const fabricGate = "RISKMESH_FABRIC"

// fabricNetwork is the network TestMain started, nil when the gate is off.
var fabricNetwork *deployfabric.Network

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	if os.Getenv(fabricGate) != "1" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "dispute-fabric-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fabric network:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, err := deployfabric.Up(ctx, deployfabric.Config{DataDir: dir, KillWithParent: true})
	if err != nil {
		fmt.Fprintf(os.Stderr, "fabric network: %v (logs in %s)\n", err, dir)
		return 1
	}
	fabricNetwork = n
	code := m.Run()
	if err := n.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "fabric network: stop:", err)
		code = 1
	}
	if code == 0 {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "fabric network data and logs kept in %s\n", dir)
	}
	return code
}

// onFabric builds the consortium on the Fabric network, each institution
// calling the chaincode through its own organisation's gateway.
func onFabric(t *testing.T, keys map[string]audittest.Keys) *audittest.Consortium {
	t.Helper()
	return audittest.NewOn(t, func(msp string) accounting.Ledger {
		org, err := fabricNetwork.Org(msp)
		if err != nil {
			t.Fatal(err)
		}
		read := func(path string) []byte {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		c, err := fabric.New(fabric.Config{
			MSPID: org.MSPID, PeerAddress: org.PeerAddress, TLSRootCert: read(org.PeerTLSCACert),
			Certificate: read(org.UserCert), PrivateKey: read(org.UserKey),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}, keys)
}

// TestMisbehavingProviderFabric is TestMisbehavingProvider with the ledger
// on a real Fabric network: the reversal lands through the chaincode and
// settlement on the channel does not charge for it.
func TestMisbehavingProviderFabric(t *testing.T) {
	if fabricNetwork == nil {
		t.Skipf("set %s=1 to run against a real Fabric network (make test-fabric)", fabricGate)
	}
	misbehavingProvider(t, newNetwork(t, onFabric))
}
