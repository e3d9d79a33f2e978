package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/demo"
)

// demoTimeout bounds one demo run: under the race detector, beside other
// tests on 2 loaded cores, a run at --scale 3000 has taken 5 minutes.
const demoTimeout = 8 * time.Minute

// runDemo runs `riskmesh demo args...` as a separate process and returns its
// standard output, standard error and exit code.
func runDemo(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), demoTimeout)
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
		t.Skip("starts five node processes")
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
	if len(standing) != 3 || billed != s.Amount || s.Amount == 0 {
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
	// to pay or earn; the others settle what period 1's standing entries
	// (the query's and the quality scene's) make.
	want := map[string]int64{"RegulatorMSP": 0}
	entries := standing
	if s.Quality != nil {
		entries = append(entries, s.Quality.Entries...)
	}
	for _, e := range entries {
		want[e.Requester] -= e.Amount
		want[e.Responder] += e.Amount
	}
	if sum != 0 || len(s.BalancesBefore) != 5 || !maps.Equal(s.BalancesBefore, want) {
		t.Errorf("balances %v sum to %d, entries make %v", s.BalancesBefore, sum, want)
	}
	checkQuality(t, s.Quality)
	if len(s.Rotated) != 2 || s.ReAudited != s.Audited {
		t.Errorf("key rotation scene: rotated %v, %d of %d transcripts re-audited", s.Rotated, s.ReAudited, s.Audited)
	}
	if s.Audited != len(standing) {
		t.Errorf("%d answers audited of %d", s.Audited, len(standing))
	}
	for _, step := range []string{"generate", "start", "catalogs", "query", "entries", "audit", "dispute", "feedback", "settle", "quality", "catalogs_period_3", "ranked", "live", "total"} {
		if _, ok := s.TimingsMS[step]; !ok {
			t.Errorf("no timing of %s", step)
		}
	}
	for _, want := range []string{"== dispute", "REVERSED", "restarted honest", "== quality feedback", "== period cycle", "== live mode", "demo passed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("narrative lacks %q", want)
		}
	}
	// The chosen directory stays with the lists and node logs.
	logs, _ := filepath.Glob(filepath.Join(dir, "nodes", "*", "node.log"))
	if len(logs) != 5 {
		t.Errorf("%d node logs in %s, want 5", len(logs), dir)
	}
	// The misbehaving node said so in its log when it started.
	if log, err := os.ReadFile(filepath.Join(dir, "nodes", demo.Rogue, "node.log")); err != nil || !bytes.Contains(log, []byte("MISBEHAVING NODE")) {
		t.Errorf("%s's log has no misbehaviour warning (%v)", demo.Rogue, err)
	}
}

// checkQuality checks the quality scene's summary against itself and the
// policy it reports: each provider's score is the median of the rates its
// requesters' reports make (the planted false positives reported wrong),
// the provider with them is the only one in the lower tier and paid less,
// in the priced period's entries too, and its hits were ranked last.
func checkQuality(t *testing.T, q *demo.Quality) {
	t.Helper()
	if q == nil || q.Provider != demo.Unreliable || q.Period != 3 || len(q.Policy.Tiers) != 2 {
		t.Fatalf("quality scene %+v", q)
	}
	rates := map[string][]uint32{}
	for _, r := range q.Reports {
		if r.Requester == r.Provider || r.Confirmed+r.Wrong == 0 || (r.Wrong > 0) != (r.Provider == q.Provider) {
			t.Errorf("report %+v: only %s's hits are wrong, and nobody reports on itself", r, q.Provider)
			continue
		}
		rates[r.Provider] = append(rates[r.Provider], uint32(r.Confirmed*10000/(r.Confirmed+r.Wrong)))
	}
	price := map[string]int64{}
	for _, s := range q.Scores {
		v := rates[s.Provider]
		slices.Sort(v)
		if uint32(len(v)) != s.Coverage || s.Shown != (s.Coverage >= q.Policy.MinRequesters) {
			t.Errorf("score %+v from %d requesters", s, len(v))
			continue
		}
		tier := 0
		if s.Shown {
			median := v[len(v)/2]
			if len(v)%2 == 0 {
				median = (v[len(v)/2-1] + v[len(v)/2]) / 2
			}
			if !slices.Equal(v, s.Values) || s.ConfirmationBP != median {
				t.Errorf("score %+v, its requesters' rates are %v", s, v)
			}
			if s.ConfirmationBP < q.Policy.Tiers[0].MinConfirmation {
				tier = 1
			}
		}
		if s.Tier != tier || s.MultiplierBP != q.Policy.Tiers[tier].Multiplier || s.Price != demo.Price("black")*int64(s.MultiplierBP)/10000 {
			t.Errorf("score %+v: want tier %d of policy %+v", s, tier, q.Policy)
		}
		if (s.Provider == q.Provider) != (tier == 1) {
			t.Errorf("%s in tier %d", s.Provider, tier)
		}
		price[s.Provider] = s.Price
	}
	if !slices.ContainsFunc(q.Scores, func(s demo.Score) bool { return s.Provider == q.Provider && s.Shown }) || price[q.Provider] >= demo.Price("black") {
		t.Errorf("%d scores, %s pays %d", len(q.Scores), q.Provider, price[q.Provider])
	}
	if len(q.Priced) != 3 || q.RankedLast == 0 {
		t.Errorf("priced entries %+v, %s ranked last on %d identifiers", q.Priced, q.Provider, q.RankedLast)
	}
	for _, e := range q.Priced {
		if e.Requester != demo.Requester || e.Amount != int64(e.Items)*price[e.Responder] || e.Items == 0 {
			t.Errorf("priced entry %+v, want %d tokens per item", e, price[e.Responder])
		}
	}
}

// TestDemoKeep: with --keep the network stays up for the CLI the demo
// suggests until Ctrl-C, which stops every node cleanly (exit code 0, and
// the summary is printed then).
func TestDemoKeep(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five node processes")
	}
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "demo")
	ctx, cancel := context.WithTimeout(context.Background(), demoTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "demo", "--scale", strconv.Itoa(demo.MinScale), "--keep", "--json", "--dir", dir)
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
