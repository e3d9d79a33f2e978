package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/demo"
)

// runDemo runs `riskmesh demo args...` as a separate process and returns its
// standard output, standard error and exit code.
func runDemo(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"demo"}, args...)...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("riskmesh demo: %v\n%s", err, errOut.String())
	}
	return out.String(), errOut.String(), code
}

// TestDemo runs the demo as CI does, at a small scale, and checks its
// summary: every planted hit found, the misbehaving provider's answer
// disputed and its entry reversed by the auditor, the balances (which do
// not charge it) summing to zero and recorded by the snapshot, all zero
// after it.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four node processes")
	}
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "demo")
	stdout, stderr, code := runDemo(t, "--scale", "3000", "--json", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit code %d\n%s", code, stderr)
	}
	var s demo.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("summary: %v\n%s", err, stdout)
	}
	if !s.OK || !s.Checked || s.Error != "" {
		t.Errorf("ok %v, checked %v, error %q", s.OK, s.Checked, s.Error)
	}
	if s.Hits != s.Expected || s.Hits == 0 || s.Batch != demo.BatchSize {
		t.Errorf("%d hits, %d expected, batch %d", s.Hits, s.Expected, s.Batch)
	}
	var billed, sum int64
	var standing, reversed []demo.Entry
	for _, e := range s.Entries {
		if e.Requester != demo.Requester || e.Category != "black" || e.Amount != int64(e.Items)*demo.Price("black") {
			t.Errorf("entry %+v", e)
		}
		if e.Reversed != "" {
			reversed = append(reversed, e)
			continue
		}
		standing = append(standing, e)
		billed += e.Amount
	}
	if len(standing) != 2 || billed != s.Amount || s.Amount == 0 {
		t.Errorf("%d entries for %d tokens, query amount %d", len(standing), billed, s.Amount)
	}
	d := s.Dispute
	switch {
	case d == nil:
		t.Error("no dispute in the summary")
	case d.Provider != demo.Rogue || d.Status != "DISPUTED" || d.State != "REVERSED" || d.Auditor != "RegulatorMSP" || d.Reversed != 1 || d.Amount == 0:
		t.Errorf("dispute %+v", d)
	case len(reversed) != 1 || reversed[0].Responder != demo.Rogue || reversed[0].Amount != d.Amount || reversed[0].Reversed != d.Auditor:
		t.Errorf("reversed entries %+v, dispute %+v", reversed, d)
	}
	if c := s.Claim; c == nil || c.Verdict != "rejected" || !c.Stands || c.Responder == "" {
		t.Errorf("claim scene %+v, want the honest answer's dispute rejected and its charge standing", c)
	}
	for msp, b := range s.BalancesBefore {
		sum += b
		if s.Snapshot[msp] != b {
			t.Errorf("%s: snapshot %d, balance %d", msp, s.Snapshot[msp], b)
		}
		if s.BalancesAfter[msp] != 0 {
			t.Errorf("%s: %d after the snapshot", msp, s.BalancesAfter[msp])
		}
	}
	// The regulator is an institution too, as the auditor, with nothing
	// to pay or earn.
	if sum != 0 || len(s.BalancesBefore) != 4 || s.BalancesBefore[demo.Requester] != -s.Amount || s.BalancesBefore["RegulatorMSP"] != 0 {
		t.Errorf("balances %v sum to %d", s.BalancesBefore, sum)
	}
	if len(s.Rotated) != 2 || s.ReAudited != s.Audited {
		t.Errorf("key rotation scene: rotated %v, %d of %d transcripts re-audited", s.Rotated, s.ReAudited, s.Audited)
	}
	if s.Audited != len(standing) {
		t.Errorf("%d answers audited of %d", s.Audited, len(standing))
	}
	for _, step := range []string{"generate", "start", "catalogs", "query", "entries", "audit", "dispute", "settle", "total"} {
		if _, ok := s.TimingsMS[step]; !ok {
			t.Errorf("no timing of %s", step)
		}
	}
	for _, want := range []string{"== dispute", "REVERSED", "restarted honest", "== period cycle", "demo passed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("narrative lacks %q", want)
		}
	}
	// The chosen directory stays with the lists and node logs.
	logs, _ := filepath.Glob(filepath.Join(dir, "nodes", "*", "node.log"))
	if len(logs) != 4 {
		t.Errorf("%d node logs in %s, want 4", len(logs), dir)
	}
	// The misbehaving node said so in its log when it started.
	if log, err := os.ReadFile(filepath.Join(dir, "nodes", demo.Rogue, "node.log")); err != nil || !bytes.Contains(log, []byte("MISBEHAVING NODE")) {
		t.Errorf("%s's log has no misbehaviour warning (%v)", demo.Rogue, err)
	}
}

// TestDemoKeep: with --keep the network stays up for the CLI the demo
// suggests until Ctrl-C, which stops every node cleanly (exit code 0, and
// the summary is printed then).
func TestDemoKeep(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four node processes")
	}
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "demo")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "demo", "--scale", "1000", "--keep", "--json", "--dir", dir)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var narrative strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "press Ctrl-C") {
		narrative.WriteString(sc.Text() + "\n")
	}
	go io.Copy(io.Discard, stderr)
	if !strings.Contains(narrative.String(), "riskmesh query --api unix://") {
		t.Errorf("no query instructions in:\n%s", narrative.String())
	}

	// The suggested query, through this binary acting as riskmesh.
	q := exec.CommandContext(ctx, os.Args[0], "query", "--api", "unix://"+filepath.Join(dir, "nodes", demo.Requester, "data", "api.sock"),
		"--category", "black", "--file", filepath.Join(dir, demo.QueryFile))
	q.Env = cmd.Env
	out, err := q.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "provider Bank1MSP: answered") {
		t.Errorf("riskmesh query on the kept network: %v\n%s", err, out)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("demo after Ctrl-C: %v", err)
	}
	var s demo.Summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil || !s.OK {
		t.Errorf("summary %+v (%v)", s, err)
	}
}

// TestDemoRefuses: invalid flags exit non-zero, with a JSON summary saying
// why when asked for.
func TestDemoRefuses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		// summary: refused by the demo itself, which still prints its
		// JSON summary; flag parsing refuses before that.
		summary bool
	}{
		{"scale too small", []string{"--scale", "10"}, true},
		{"directory in use", []string{"--dir", full}, true},
		{"unknown flag", []string{"--sclae", "3000"}, false},
		{"positional argument", []string{"extra"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runDemo(t, append(tc.args, "--json")...)
			if code == 0 {
				t.Fatalf("exit code 0\n%s", stderr)
			}
			if !tc.summary {
				return
			}
			var s demo.Summary
			if err := json.Unmarshal([]byte(stdout), &s); err != nil || s.OK || s.Error == "" {
				t.Errorf("summary %+v (%v)", s, err)
			}
		})
	}
}
