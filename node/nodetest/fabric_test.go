package nodetest

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/riskmesh/riskmesh/deploy/fabric"
)

// fabricGate runs the Fabric variant (make test-fabric), which brings up a
// real Fabric network (deploy/fabric) once for this test binary.
const fabricGate = "RISKMESH_FABRIC"

// network is the Fabric network TestMain started, nil when the gate is off.
var network *fabric.Network

// startFabric brings the network up in a temporary directory; the returned
// function stops it and removes the directory.
func startFabric() (func() error, error) {
	dir, err := os.MkdirTemp("", "nodetest-fabric-")
	if err != nil {
		return nil, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, err := fabric.Up(ctx, fabric.Config{DataDir: dir, KillWithParent: true})
	if err != nil {
		return nil, fmt.Errorf("fabric network: %w (logs in %s)", err, dir)
	}
	network = n
	return func() error {
		err := n.Stop()
		if err == nil {
			os.RemoveAll(dir)
		}
		return err
	}, nil
}

func TestFabricNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three node processes on a Fabric network")
	}
	if network == nil {
		t.Skipf("set %s=1 to run against a real Fabric network (make test-fabric)", fabricGate)
	}
	runNetwork(t, network)
}

// fabricLedger returns the ledger section of in's node.yaml for its
// organisation on fab, with copies of the organisation's client files in
// in's directory (the private key 0600, as node/config requires).
func fabricLedger(t *testing.T, fab *fabric.Network, in *institution) string {
	t.Helper()
	org, err := fab.Org(in.msp)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(in.dir, "fabric")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{"tlsca.pem": org.PeerTLSCACert, "user.pem": org.UserCert, "user.key": org.UserKey} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return fmt.Sprintf(`ledger:
  backend: fabric
  fabric:
    peer_address: %s
    tls_root_cert: fabric/tlsca.pem
    certificate: fabric/user.pem
    private_key: fabric/user.key
`, org.PeerAddress)
}
