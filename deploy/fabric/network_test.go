package fabric_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/deploy/fabric"
)

// requireGate skips unless RISKMESH_FABRIC=1 (make test-fabric): these tests
// build Fabric on a clean machine and start real networks.
func requireGate(t *testing.T) {
	t.Helper()
	if os.Getenv("RISKMESH_FABRIC") != "1" {
		t.Skip("set RISKMESH_FABRIC=1 to start real Fabric networks (make test-fabric)")
	}
}

// alive reports whether pid runs (a zombie counts as gone).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	for i := len(b) - 1; i > 0; i-- {
		if b[i] == ')' {
			return i+2 < len(b) && b[i+2] != 'Z'
		}
	}
	return false
}

// waitGone polls until none of procs runs, or fails the test after a bound.
func waitGone(t *testing.T, procs []fabric.Process) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range procs {
		for alive(p.PID) {
			if time.Now().After(deadline) {
				t.Fatalf("%s (pid %d) still running", p.Name, p.PID)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func pidFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "pids", "*.pid"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestUpDown(t *testing.T) {
	requireGate(t)
	dir := t.TempDir()
	n, err := fabric.Up(context.Background(), fabric.Config{DataDir: dir, KillWithParent: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	t.Logf("bring-up %s", n.Info().BringUp)

	procs := n.Processes()
	if len(procs) != 3+len(fabric.Orgs)+1 {
		t.Fatalf("processes = %v, want 3 orderers, %d peers and the chaincode", procs, len(fabric.Orgs))
	}
	for _, p := range procs {
		if !alive(p.PID) {
			t.Fatalf("%s not running", p.Name)
		}
	}
	if got := len(pidFiles(t, dir)); got != len(procs) {
		t.Fatalf("%d pid files for %d processes", got, len(procs))
	}

	t.Run("Load", func(t *testing.T) {
		info, err := fabric.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if info.PackageID != n.Info().PackageID || len(info.Orgs) != len(fabric.Orgs) {
			t.Fatalf("loaded %+v, want %+v", info, n.Info())
		}
		for _, o := range fabric.Orgs {
			org, err := info.Org(o.MSPID)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{org.PeerTLSCACert, org.UserCert, org.UserKey} {
				if _, err := os.Stat(f); err != nil {
					t.Fatalf("%s: %v", o.MSPID, err)
				}
			}
		}
		if _, err := info.Org("NopeMSP"); !errors.Is(err, fabric.ErrUnknownOrg) {
			t.Fatalf("unknown org: %v", err)
		}
		cr, err := info.Credentials("Bank1MSP", "RegulatorMSP")
		if err != nil {
			t.Fatal(err)
		}
		reg, _ := info.Org("RegulatorMSP")
		if cr.MSPID != "Bank1MSP" || cr.PeerAddress != reg.PeerAddress || len(cr.TLSRootCert) == 0 || len(cr.Certificate) == 0 || len(cr.PrivateKey) == 0 {
			t.Fatalf("credentials of Bank1MSP through the regulator's peer: %+v", cr)
		}
		if _, err := info.Credentials("Bank1MSP", "NopeMSP"); !errors.Is(err, fabric.ErrUnknownOrg) {
			t.Fatalf("credentials through an unknown org: %v", err)
		}
	})

	t.Run("Down stops exactly the recorded processes", func(t *testing.T) {
		// An unrelated process of the same user must survive.
		bystander := exec.Command("sleep", "60")
		if err := bystander.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = bystander.Process.Kill(); _ = bystander.Wait() }()

		if err := fabric.Down(dir); err != nil {
			t.Fatal(err)
		}
		waitGone(t, procs)
		if files := pidFiles(t, dir); len(files) != 0 {
			t.Fatalf("pid files left: %v", files)
		}
		if !alive(bystander.Process.Pid) {
			t.Fatal("Down stopped an unrelated process")
		}
		if err := fabric.Down(dir); err != nil {
			t.Fatalf("second Down: %v", err)
		}
		if err := n.Stop(); err != nil {
			t.Fatalf("Stop after Down: %v", err)
		}
		if err := n.Stop(); err != nil {
			t.Fatalf("second Stop: %v", err)
		}
	})
}

func TestFailedUpCleansUp(t *testing.T) {
	requireGate(t)
	dir := t.TempDir()
	// A chaincode server that exits at once: bring-up must notice, report
	// it, and stop the orderer and peers it had started.
	_, err := fabric.Up(context.Background(), fabric.Config{
		DataDir: dir, KillWithParent: true,
		Chaincode: fabric.ChaincodeConfig{Binary: "/bin/false"},
	})
	if !errors.Is(err, fabric.ErrExited) {
		t.Fatalf("Up with a failing chaincode: %v, want ErrExited", err)
	}
	if files := pidFiles(t, dir); len(files) != 0 {
		t.Fatalf("pid files left after a failed bring-up: %v", files)
	}
}
