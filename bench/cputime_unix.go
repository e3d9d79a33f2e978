//go:build unix

package bench

import "syscall"

// processCPU returns the CPU time this process has used so far, user and
// system, in seconds. A difference of two readings around a query is the
// query's CPU cost on all cores, which contention from other processes
// distorts far less than wall time.
func processCPU() float64 { return rusageCPU(syscall.RUSAGE_SELF) }

// harnessCPU is processCPU plus the CPU time of the child processes that
// have ended (the DHPSI baseline and its build): the harness's whole share
// of the machine's load.
func harnessCPU() float64 {
	return rusageCPU(syscall.RUSAGE_SELF) + rusageCPU(syscall.RUSAGE_CHILDREN)
}

func rusageCPU(who int) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return seconds(ru.Utime) + seconds(ru.Stime)
}

func seconds(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }
