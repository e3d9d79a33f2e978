package bench

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Machine is where and when a row was measured.
type Machine struct {
	CPU        string // model name, "unknown" if the system does not say
	NumCPU     int    // runtime.NumCPU
	GOMAXPROCS int
	GoVersion  string
	Commit     string // git commit of the working tree, "-dirty" if modified
	Date       string // start of the run, RFC 3339 UTC
	// Load is the 1-, 5- and 15-minute load averages when the row started
	// (DetectMachine: now).
	Load string
}

// DetectMachine describes this machine now. dir is a directory inside the
// git checkout whose commit is recorded ("unknown" outside one).
func DetectMachine(ctx context.Context, dir string) Machine {
	return Machine{
		CPU:        readFirst("/proc/cpuinfo", cpuModel),
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion:  runtime.Version(),
		Commit:     gitCommit(ctx, dir),
		Date:       time.Now().UTC().Format(time.RFC3339),
		Load:       readFirst("/proc/loadavg", loadAverage),
	}
}

// readFirst opens a system file and parses it with parse, or says
// "unknown".
func readFirst(path string, parse func(io.Reader) string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	return parse(f)
}

// maxSystemFile bounds what is read of /proc files.
const maxSystemFile = 1 << 20

// cpuModel returns the first "model name" of a /proc/cpuinfo listing.
func cpuModel(r io.Reader) string {
	sc := bufio.NewScanner(io.LimitReader(r, maxSystemFile))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return clean(value)
		}
	}
	return "unknown"
}

// loadAverage returns the three load averages of /proc/loadavg.
func loadAverage(r io.Reader) string {
	sc := bufio.NewScanner(io.LimitReader(r, maxSystemFile))
	if sc.Scan() {
		if l, err := parseLoadAverage(sc.Text()); err == nil {
			return l.String()
		}
	}
	return "unknown"
}

// clean trims s and bounds it to fit a CSV field.
func clean(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 100 {
		s = s[:100]
	}
	if s == "" {
		return "unknown"
	}
	return s
}

func gitCommit(ctx context.Context, dir string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	commit := clean(string(out))
	// Only tracked files count: other work in the checkout's untracked
	// files does not change what was measured.
	if err := exec.CommandContext(ctx, "git", "-C", dir, "diff", "--quiet", "HEAD").Run(); err != nil {
		commit += "-dirty"
	}
	return commit
}
