package bench

import "github.com/riskmesh/riskmesh/internal/cputime"

// processCPU returns the CPU time this process has used so far, user and
// system, in seconds. A difference of two readings around a query is the
// query's CPU cost on all cores, which contention from other processes
// distorts far less than wall time. Where the platform cannot say it is 0,
// and rows record no CPU time.
func processCPU() float64 { return cputime.Self().Seconds() }

// harnessCPU is processCPU plus the CPU time of the child processes that
// have ended (the DHPSI baseline and its build): the harness's whole share
// of the machine's load. Where it is 0, the load judge counts the
// harness's own load as other work's.
func harnessCPU() float64 { return (cputime.Self() + cputime.Children()).Seconds() }
