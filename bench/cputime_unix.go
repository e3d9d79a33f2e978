//go:build unix

package bench

import "syscall"

// processCPU returns the CPU time this process has used so far, user and
// system, in seconds. A difference of two readings around a query is the
// query's CPU cost on all cores, which contention from other processes
// distorts far less than wall time.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return seconds(ru.Utime) + seconds(ru.Stime)
}

func seconds(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }
