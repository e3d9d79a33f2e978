//go:build !linux

package hepsi

// peakRSSMB is unavailable here; benchmarks then report 0.
func peakRSSMB() float64 { return 0 }
