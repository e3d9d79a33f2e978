package bench

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// runQueueWait returns how long, in seconds, the threads of process pid
// have waited on a run queue for a core so far: the second field of each
// /proc/<pid>/task/<tid>/schedstat. The 1-minute load average counts a
// thread that waits for a core as it counts one that runs, so CPU time alone
// understates a process's share of it by this much: ten node processes
// building catalogs on 2 cores keep the load near 10 with 2 cores' worth of
// CPU time. Threads that have ended, and kernels without schedstat, count
// 0, which errs towards calling the machine busy.
func runQueueWait(pid int) float64 {
	tasks, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "schedstat"))
	if err != nil {
		return 0
	}
	total := 0.0
	for _, path := range tasks {
		total += readSchedWait(path)
	}
	return total
}

// readSchedWait reads the run-queue wait of one schedstat file, 0 if it
// cannot.
func readSchedWait(path string) float64 {
	f, err := os.Open(path)
	if err != nil {
		return 0 // the thread ended
	}
	defer f.Close()
	return schedWait(f)
}

// schedWait parses a schedstat line, "<on-cpu ns> <run-queue wait ns>
// <timeslices>", into the wait in seconds; 0 if it is not one.
func schedWait(r io.Reader) float64 {
	b, err := io.ReadAll(io.LimitReader(r, maxSystemFile))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0
	}
	ns, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return float64(ns) / 1e9
}
