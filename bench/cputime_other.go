//go:build !unix

package bench

// processCPU is 0 where getrusage does not exist: rows then record no CPU
// time.
func processCPU() float64 { return 0 }

// harnessCPU is 0 too: the load judge then counts the harness's own load
// as other work's.
func harnessCPU() float64 { return 0 }
