//go:build unix

package oprf

import (
	"syscall"
	"time"
)

// cpuTime is the process's user plus system CPU time. Benchmarks report it
// per item because wall-clock throughput on a machine shared with other
// processes says more about the neighbours than about the code.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
