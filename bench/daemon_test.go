package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/node/localnet"
)

// statCPU reads utime and stime after the command name, which may hold
// spaces and parentheses, and reads nothing from a line it cannot parse.
func TestStatCPU(t *testing.T) {
	for line, want := range map[string]float64{
		"1234 (riskmesh) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 125 0 0 20 0 9 0 100 0 0": 3.75,
		"1234 (a) b (c)) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 0 0":                     0.10,
		"1234 (riskmesh) S 1 1234":                         0,
		"1234 riskmesh S 1 2 3 4 5 6 7 8 9 10 11 12 13 14": 0,
		"1234 (x) S 1 1 1 0 -1 0 0 0 0 0 x 3 0 0":          0,
	} {
		if got := statCPU(strings.NewReader(line)); got != want {
			t.Errorf("statCPU(%q) = %v, want %v", line, got, want)
		}
	}
}

// RunDaemon starts real riskmesh node processes, asks every phase's
// queries through the business API and checks each answer: a wrong or
// missing answer fails the run (askDaemon), so the points it returns are
// of checked queries. With Compare, a second requester runs the compared
// executable (here a wrapper that notes its start, then runs riskmesh)
// and the one-at-a-time phases report its queries apart.
func TestRunDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("builds riskmesh and starts six node processes")
	}
	dir, binary := buildRiskmesh(t)
	started := filepath.Join(dir, "compared-started")
	compared := filepath.Join(dir, "compared")
	script := fmt.Sprintf("#!/bin/sh\necho started >> %q\nexec %q \"$@\"\n", started, binary)
	if err := os.WriteFile(compared, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	_, points, err := RunDaemon(ctx, DaemonConfig{Binary: binary, Compare: compared, Dir: filepath.Join(dir, "net"), List: 300,
		Queries: 8, Clients: 2, Concurrent: 6, Large: 40, LargeQueries: 3, SplitItems: 10, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(started); err != nil || string(b) != "started\n" {
		t.Errorf("the compared executable started %q (%v), want once: the second requester's node", b, err)
	}
	want := []DaemonPoint{
		{Path: PathDaemon, Providers: 1, Clients: 1, Queries: 8, Identifiers: 1},
		{Path: PathCompared, Providers: 1, Clients: 1, Queries: 8, Identifiers: 1},
		{Path: PathDaemon, Providers: 3, Clients: 1, Queries: 8, Identifiers: 1},
		{Path: PathCompared, Providers: 3, Clients: 1, Queries: 8, Identifiers: 1},
		{Path: PathDaemon, Providers: 3, Clients: 2, Queries: 6, Identifiers: 1},
		{Path: PathDaemon, Providers: 1, Clients: 1, Queries: 3, Identifiers: 40},
		{Path: PathInProcess, Providers: 1, Clients: 1, Queries: 3, Identifiers: 40},
	}
	if len(points) != len(want) {
		t.Fatalf("%d points, want %d", len(points), len(want))
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	builds := map[string]string{PathDaemon: binary, PathCompared: compared, PathInProcess: self}
	for path, file := range builds {
		if builds[path], err = executableID(file); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range points {
		w := want[i]
		if p.Path != w.Path || p.Providers != w.Providers || p.Clients != w.Clients || p.Queries != w.Queries ||
			p.Identifiers != w.Identifiers || p.P50 <= 0 || p.P90 < p.P50 || p.CPUSeconds <= 0 || p.Load == "" {
			t.Errorf("point %d: %+v, want the sizes of %+v, percentiles in order and CPU spent", i, p, w)
		}
		if p.Build != builds[p.Path] || len(p.Build) != 12 {
			t.Errorf("point %d (%s) measured on build %q, want %q", i, p.Path, p.Build, builds[p.Path])
		}
		if p.Path == PathCompared && (p.Delta != p.P50-points[i-1].P50 || p.DeltaLow > p.DeltaHigh) {
			t.Errorf("point %d: p50 %v less the first requester's %v is %v (%v to %v)", i, p.P50, points[i-1].P50,
				p.Delta, p.DeltaLow, p.DeltaHigh)
		}
	}
	var table strings.Builder
	if err := WriteDaemonTable(&table, Machine{}, points); err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(table.String(), "\n| "); rows != 1+len(want) {
		t.Errorf("table has %d rows after its header, want %d:\n%s", rows-1, len(want), table.String())
	}
	if !strings.Contains(table.String(), "| in process | "+builds[PathInProcess]+" | 1 | 1 | 40 | 3 |") {
		t.Errorf("table lacks the in-process reference row:\n%s", table.String())
	}
}

// With Profile, every phase leaves a CPU profile and an execution trace of
// every node process, and goes on asking until its window has closed.
func TestRunDaemonProfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds riskmesh and starts five node processes")
	}
	dir, binary := buildRiskmesh(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const window = 300 * time.Millisecond
	profiles := filepath.Join(dir, "profiles")
	_, points, err := RunDaemon(ctx, DaemonConfig{Binary: binary, Dir: filepath.Join(dir, "net"), List: 50, Queries: 1,
		Clients: 2, Concurrent: 2, Large: 4, LargeQueries: 1, Seed: 4, Profile: profiles, ProfileWindow: window})
	if err != nil {
		t.Fatal(err)
	}
	asked := []int{1, 1, 2, 1, 1}
	if len(points) != len(asked) {
		t.Fatalf("%d points, want %d", len(points), len(asked))
	}
	for i, p := range points {
		if p.Queries < asked[i] {
			t.Errorf("point %d: %d queries, fewer than the %d asked", i, p.Queries, asked[i])
		}
		// The one-identifier phases' Seconds are their wall time, which
		// covers the window.
		if i < 3 && p.Seconds < window.Seconds() {
			t.Errorf("point %d: the phase took %.3f s, less than its %v window", i, p.Seconds, window)
		}
	}
	nodes := []string{localnet.DefaultRegulator, daemonRequester}
	for i := range daemonProviders {
		nodes = append(nodes, providerMSP(i))
	}
	for _, phase := range []string{"1-providers-1-clients", "3-providers-1-clients", "3-providers-2-clients", "large-4"} {
		for _, msp := range nodes {
			for suffix, magic := range map[string]string{cpuProfileSuffix: "\x1f\x8b", traceSuffix: "go 1."} {
				file := filepath.Join(profiles, phase, msp+suffix)
				data, err := os.ReadFile(file)
				if err != nil || !strings.HasPrefix(string(data), magic) {
					t.Errorf("%s: %d bytes starting %.8q, %v; want a file starting %q", file, len(data), data, err, magic)
				}
			}
		}
	}
}

// buildRiskmesh builds the node binary into a temporary directory, which
// it returns with the binary's path.
func buildRiskmesh(t *testing.T) (dir, binary string) {
	t.Helper()
	dir = t.TempDir()
	binary = filepath.Join(dir, "riskmesh")
	if out, err := exec.Command("go", "build", "-o", binary, "github.com/riskmesh/riskmesh/cmd/riskmesh").CombinedOutput(); err != nil {
		t.Fatalf("go build riskmesh: %v\n%s", err, out)
	}
	return dir, binary
}

func TestDaemonConfigRefusesBadSizes(t *testing.T) {
	for name, c := range map[string]DaemonConfig{
		"no binary":                  {Dir: "d"},
		"no directory":               {Binary: "b"},
		"fewer queries than clients": {Binary: "b", Dir: "d", Clients: 8, Concurrent: 4},
		"negative list":              {Binary: "b", Dir: "d", List: -1},
		"one-identifier large batch": {Binary: "b", Dir: "d", Large: 1},
		"negative large queries":     {Binary: "b", Dir: "d", LargeQueries: -2},
		"negative split":             {Binary: "b", Dir: "d", SplitItems: -1},
		"negative profile window":    {Binary: "b", Dir: "d", ProfileWindow: -time.Second},
		"profile window too long":    {Binary: "b", Dir: "d", ProfileWindow: time.Hour},
	} {
		if _, err := c.withDefaults(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
}

// p50Delta's difference and interval: exact for a constant shift, zero
// for identical walls, and for noisy walls with a 0.5 ms shift an
// interval that holds the shift and not zero.
func TestP50Delta(t *testing.T) {
	shifted := make([][2]time.Duration, 101)
	for i := range shifted {
		a := time.Duration(1000+37*i%101) * time.Microsecond
		shifted[i] = [2]time.Duration{a, a + time.Millisecond}
	}
	if d, lo, hi := p50Delta(shifted); d != time.Millisecond || lo != time.Millisecond || hi != time.Millisecond {
		t.Errorf("constant 1 ms shift: %v (%v to %v)", d, lo, hi)
	}
	same := make([][2]time.Duration, 101)
	for i := range same {
		same[i] = [2]time.Duration{shifted[i][0], shifted[i][0]}
	}
	if d, lo, hi := p50Delta(same); d != 0 || lo != 0 || hi != 0 {
		t.Errorf("identical walls: %v (%v to %v)", d, lo, hi)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	noisy := make([][2]time.Duration, 400)
	for i := range noisy {
		noisy[i] = [2]time.Duration{
			time.Millisecond + time.Duration(rng.IntN(1000))*time.Microsecond,
			1500*time.Microsecond + time.Duration(rng.IntN(1000))*time.Microsecond,
		}
	}
	d, lo, hi := p50Delta(noisy)
	if lo > 500*time.Microsecond || hi < 500*time.Microsecond || lo <= 0 || lo > d || d > hi {
		t.Errorf("0.5 ms shift in 1 ms of noise: %v (%v to %v), want an interval around 0.5 ms above 0", d, lo, hi)
	}
	if d, lo, hi := p50Delta(nil); d != 0 || lo != 0 || hi != 0 {
		t.Errorf("no pairs: %v (%v to %v)", d, lo, hi)
	}
}
