package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/node/seal"
)

// runMainEnv makes the test binary act as the riskmesh binary, so the demo
// test runs the real command, whose nodes re-execute the same binary.
const runMainEnv = "RISKMESH_TEST_RUN_MAIN"

// updateScriptsEnv, set to 1, rewrites the golden files of
// testdata/script/*.txtar from the commands' actual output.
const updateScriptsEnv = "RISKMESH_UPDATE_SCRIPTS"

// TestMain also installs this test binary as `riskmesh` on the scripts'
// PATH (testscript.Main): the scripts run the real command as a separate
// process, and the demo's nodes re-execute it as they would the binary.
func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	testscript.Main(m, map[string]func(){"riskmesh": main})
}

// TestScript runs the shell sessions in testdata/script: each command's
// refusals and, where no network is needed, its success, compared with
// golden output. network.txtar starts a demo network and is skipped by
// -short.
func TestScript(t *testing.T) {
	fixtures := scriptFixtures(t)
	demos := &keptDemos{running: map[*testscript.TestScript]*keptDemo{}}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv(updateScriptsEnv) == "1",
		Setup: func(env *testscript.Env) error {
			for name, from := range fixtures {
				if err := copyFile(from, filepath.Join(env.WorkDir, name)); err != nil {
					return err
				}
			}
			return nil
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"demo-keep":  demos.start,
			"demo-stop":  demos.stop,
			"capture":    capture,
			"eventually": eventually,
		},
	})
}

// scriptFixtures makes the files the offline scripts find in $WORK: an
// embedded ledger (audit.db) with two recorded exchanges, the honest one's
// transcript (honest.rmtx) and both (both.rmtx), whose second fails its
// proof; a ledger with a few transactions for verify-log (log.db); and a
// data-at-rest keyring wrapped under the passphrase "sandbox" (seal.key).
func scriptFixtures(t *testing.T) map[string]string {
	c, _ := auditFixture(t)
	honest := c.Exchange(t, audittest.Honest, audittest.Identifiers...)
	bad := c.Exchange(t, audittest.WrongKey, audittest.Identifiers...)
	c.Record(t, honest)
	c.Record(t, bad)
	if err := c.Store.Close(); err != nil {
		t.Fatal(err)
	}
	logDB, _, _ := ledgerFile(t)
	keyring := filepath.Join(t.TempDir(), seal.KeyringFile)
	if _, err := seal.Create(keyring, seal.PassphraseKEK("sandbox"), nil); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"audit.db":    c.Path,
		"honest.rmtx": writeTranscripts(t, honest),
		"both.rmtx":   writeTranscripts(t, honest, bad),
		"log.db":      logDB,
		"seal.key":    keyring,
	}
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o600)
}

// capture runs `capture NAME REGEXP`: it sets $NAME to REGEXP's first
// submatch in the last command's standard output, so that a script can
// name what an earlier command printed (a query id, a ledger sequence).
func capture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: capture NAME REGEXP")
	}
	re, err := regexp.Compile(`(?m)` + args[1])
	ts.Check(err)
	m := re.FindStringSubmatch(ts.ReadFile("stdout"))
	if len(m) < 2 {
		ts.Fatalf("capture: no submatch of %q in stdout", args[1])
	}
	ts.Setenv(args[0], m[1])
}

// eventually runs `eventually TIMEOUT COMMAND [ARG]...`: it runs the
// command every quarter second until it exits 0, failing the script if it
// has not by TIMEOUT; the last run's output is what stdout and stderr
// check. For states the network reaches on its own after the hand-over (a
// provider's own catalogs of the new period still building).
func eventually(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: eventually TIMEOUT COMMAND [ARG]...")
	}
	timeout, err := time.ParseDuration(args[0])
	ts.Check(err)
	deadline := time.Now().Add(timeout)
	for {
		err := ts.Exec(args[1], args[2:]...)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("eventually: %s still fails after %s: %v", args[1], timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Bounds of the kept demo: its start (generating the lists, five nodes,
// every scene), bounded as a whole demo run is, and its stop after Ctrl-C.
const (
	demoStartTimeout = demoTimeout
	demoStopTimeout  = time.Minute
)

// keptDemos are the `riskmesh demo --keep` processes the scripts started,
// one per script at most.
type keptDemos struct {
	mu      sync.Mutex
	running map[*testscript.TestScript]*keptDemo
}

type keptDemo struct {
	cmd  *exec.Cmd
	done chan error // Wait's result, once
}

// start runs `demo-keep DIR [FLAG]...`: `riskmesh demo --keep --dir DIR
// FLAG...` in the background, its output written to DIR.log, and returns
// once the demo hands the network over ("press Ctrl-C"), failing the script
// if the demo exits first or takes longer than demoStartTimeout. The demo is
// stopped when the script ends, whether or not it called demo-stop.
func (k *keptDemos) start(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: demo-keep DIR [FLAG]...")
	}
	k.mu.Lock()
	_, busy := k.running[ts]
	k.mu.Unlock()
	if busy {
		ts.Fatalf("demo-keep: a demo is already running")
	}
	dir := ts.MkAbs(args[0])
	log, err := os.Create(dir + ".log")
	ts.Check(err)
	cmd := exec.Command("riskmesh", append([]string{"demo", "--keep", "--dir", dir}, args[1:]...)...)
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = scriptEnv(ts)
	// The narrative goes to standard output, or to standard error with
	// --json: read both.
	out, w, err := os.Pipe()
	ts.Check(err)
	cmd.Stdout, cmd.Stderr = w, w
	stopWithTest(cmd)
	err = cmd.Start()
	w.Close()
	ts.Check(err)
	d := &keptDemo{cmd: cmd, done: make(chan error, 1)}
	k.mu.Lock()
	k.running[ts] = d
	k.mu.Unlock()
	ts.Defer(func() {
		k.mu.Lock()
		_, still := k.running[ts]
		delete(k.running, ts)
		k.mu.Unlock()
		if still {
			d.interrupt() // the script failed before demo-stop
		}
		log.Close()
	})

	ready := make(chan struct{})
	go func() {
		defer out.Close()
		sc := bufio.NewScanner(out)
		handedOver := false
		for sc.Scan() {
			fmt.Fprintln(log, sc.Text())
			if !handedOver && strings.HasPrefix(sc.Text(), "press Ctrl-C") {
				handedOver = true
				close(ready)
			}
		}
		io.Copy(log, out)
		d.done <- cmd.Wait()
		close(d.done)
	}()
	select {
	case <-ready:
	case err := <-d.done:
		ts.Fatalf("demo-keep: the demo exited before handing over the network (%v); see %s.log", err, dir)
	case <-time.After(demoStartTimeout):
		ts.Fatalf("demo-keep: no hand-over within %s; see %s.log", demoStartTimeout, dir)
	}
}

// stop runs `demo-stop`: Ctrl-C to the kept demo, which stops its nodes and
// must exit with status 0 within demoStopTimeout.
func (k *keptDemos) stop(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: demo-stop")
	}
	k.mu.Lock()
	d, ok := k.running[ts]
	delete(k.running, ts)
	k.mu.Unlock()
	if !ok {
		ts.Fatalf("demo-stop: no demo is running")
	}
	if err := d.interrupt(); err != nil {
		ts.Fatalf("demo-stop: %v", err)
	}
}

// interrupt sends the demo Ctrl-C and waits for it to stop its nodes and
// exit, killing it after demoStopTimeout (its nodes, in process groups of
// their own, would then outlive it: the error says so).
func (d *keptDemo) interrupt() error {
	if err := d.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case err := <-d.done:
		if err != nil {
			return fmt.Errorf("the demo exited with %v after Ctrl-C", err)
		}
		return nil
	case <-time.After(demoStopTimeout):
		d.cmd.Process.Kill()
		return fmt.Errorf("the demo did not stop within %s after Ctrl-C: killed, its nodes may outlive it", demoStopTimeout)
	}
}

// scriptEnv is the script's environment (testscript's, with riskmesh on
// PATH) for a process the script does not start itself.
func scriptEnv(ts *testscript.TestScript) []string {
	var env []string
	for _, name := range []string{"PATH", "HOME", "TMPDIR", "WORK"} {
		env = append(env, name+"="+ts.Getenv(name))
	}
	return env
}
