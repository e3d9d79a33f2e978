package nodetest

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// binary is the riskmesh binary TestMain builds once for every test.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run() // every test here starts processes and skips
	}
	dir, err := os.MkdirTemp("", "nodetest-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "riskmesh")
	build := exec.Command("go", "build", "-o", binary, "github.com/riskmesh/riskmesh/cmd/riskmesh")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build riskmesh: %v\n%s", err, out)
		return 1
	}
	if os.Getenv(fabricGate) == "1" {
		stop, err := startFabric()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		code := m.Run()
		if err := stop(); err != nil {
			fmt.Fprintln(os.Stderr, "fabric network: stop:", err)
			code = 1
		}
		return code
	}
	return m.Run()
}

// riskmesh runs one short command of the binary and returns its standard
// output; a failure ends the test with its standard error.
func riskmesh(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("riskmesh %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// process is one running `riskmesh node`.
type process struct {
	name   string
	cmd    *exec.Cmd
	log    string
	exited chan struct{} // closed once the process has exited
	err    error         // its exit status, set before exited closes
}

// startNode starts `riskmesh node --config config` with its standard error
// (the JSON log) in log, and stops it with SIGTERM when the test ends.
func startNode(t *testing.T, name, config, log string) *process {
	t.Helper()
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "node", "--config", config)
	cmd.Stderr, cmd.Stdout = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	p := &process{name: name, cmd: cmd, log: log, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop sends SIGTERM and waits, at most a minute, for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("%s exited with %v; log:\n%s", p.name, p.err, tail(p.log))
		}
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		t.Errorf("%s did not stop within a minute of SIGTERM; log:\n%s", p.name, tail(p.log))
	}
}

// kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.exited
}

// tail returns the end of a log file for a failure message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	return string(b)
}

// apiClient connects to a node's business API socket.
func apiClient(t *testing.T, socket string) riskmeshv1.RiskMeshClient {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return riskmeshv1.NewRiskMeshClient(conn)
}

// eventually retries check until it succeeds, for at most about 90 s: the
// only way to wait for another process's background work. On failure it
// prints the logs of procs.
func eventually(t *testing.T, what string, procs []*process, check func() error) {
	t.Helper()
	var err error
	for range 900 {
		if err = check(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range procs {
		t.Logf("%s log:\n%s", p.name, tail(p.log))
	}
	t.Fatalf("%s: %v", what, err)
}
