package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/bench"
)

// runBench runs `riskmesh-bench args...` in-process and returns its
// standard output and error output.
func runBench(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newBenchCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

// readRows reads the rows of dir's results.csv.
func readRows(t *testing.T, dir string) []bench.Row {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, bench.CSVFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := bench.ReadCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// The quick suite's shape with tiny sizes: every file is written and reads
// back, every query row found exactly its planted hits, and the DHPSI
// baseline is skipped with a message when its module is not there.
func TestBenchWritesReadableReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	out, errOut, err := runBench(t, "--quick", "--out", dir, "--only", "batch,providers",
		"--batches", "1,30", "--providers", "1,2", "--batch", "20", "--list", "200", "--ecdh-max-list", "200",
		"--match", filepath.Join(t.TempDir(), "missing"))
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if !strings.Contains(out, "wrote ") || !strings.Contains(errOut, "dhpsi baseline skipped") {
		t.Errorf("output %q, errors %q", out, errOut)
	}
	for _, name := range []string{bench.CSVFile, bench.SummaryFile, "batch_throughput.svg", "batch_latency.png", "providers_throughput.png"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	rows := readRows(t, dir)
	var protocols []string
	for _, r := range rows {
		if r.Phase != bench.PhaseQuery {
			continue
		}
		if r.Hits != r.WantHits || r.Rep != 0 {
			t.Errorf("%+v", r)
		}
		if !slices.Contains(protocols, r.Protocol) {
			protocols = append(protocols, r.Protocol)
		}
	}
	slices.Sort(protocols)
	if want := []string{bench.ProtocolCatalog, bench.ProtocolVOPRF, bench.ProtocolECDH, bench.ProtocolRecon, bench.ProtocolLive}; !slices.Equal(protocols, want) {
		t.Errorf("protocols %v, want %v", protocols, want)
	}
}

// --quick and --docs are two suites: asking for both is an error, before
// anything is measured.
func TestBenchRefusesTwoSuites(t *testing.T) {
	_, _, err := runBench(t, "--out", t.TempDir(), "--quick", "--docs")
	if err == nil || !strings.Contains(err.Error(), "quick") || !strings.Contains(err.Error(), "docs") {
		t.Fatalf("err = %v, want the two suites refused", err)
	}
}

func TestBenchRefusesAnUnknownSweep(t *testing.T) {
	_, _, err := runBench(t, "--out", t.TempDir(), "--only", "everything")
	if err == nil || !strings.Contains(err.Error(), "unknown sweep") {
		t.Fatalf("err = %v, want an unknown sweep error", err)
	}
}

// nodeBinary builds the riskmesh executable into dir for the tests that
// name it with --riskmesh (TestBenchWritesReadableReport lets the harness
// build its own, as on a fresh clone).
func nodeBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "riskmesh")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/riskmesh/riskmesh/cmd/riskmesh").CombinedOutput(); err != nil {
		t.Fatalf("go build riskmesh: %v\n%s", err, out)
	}
	return bin
}

// --append adds a run's rows to those already in the output directory.
func TestBenchAppend(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--out", dir, "--only", "batch", "--batches", "2", "--list", "100", "--ecdh-max-list", "100", "--reps", "1", "--match", "", "--load-wait", "0",
		"--riskmesh", nodeBinary(t)}
	count := func() int { return len(readRows(t, dir)) }
	if _, errOut, err := runBench(t, args...); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	first := count()
	if _, errOut, err := runBench(t, append(args, "--append")...); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if got := count(); got != 2*first {
		t.Fatalf("%d rows after appending, want %d", got, 2*first)
	}
}

// --report-only rewrites the summary and plots from the CSV alone.
func TestBenchReportOnly(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--out", dir, "--only", "batch", "--batches", "2", "--list", "100", "--ecdh-max-list", "100", "--reps", "1", "--match", "", "--load-wait", "0",
		"--riskmesh", nodeBinary(t)}
	if _, errOut, err := runBench(t, args...); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	summary := filepath.Join(dir, bench.SummaryFile)
	if err := os.Remove(summary); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := runBench(t, "--out", dir, "--report-only"); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if fi, err := os.Stat(summary); err != nil || fi.Size() == 0 {
		t.Fatalf("summary not rewritten: %v", err)
	}
}
