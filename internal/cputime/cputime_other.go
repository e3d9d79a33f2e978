//go:build !unix

package cputime

import "time"

// Self is unavailable on this platform: benchmarks report 0 CPU time.
func Self() time.Duration { return 0 }

// Children is unavailable on this platform.
func Children() time.Duration { return 0 }
