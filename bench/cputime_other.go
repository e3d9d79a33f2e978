//go:build !unix

package bench

// processCPU is 0 where getrusage does not exist: rows then record no CPU
// time.
func processCPU() float64 { return 0 }
