//go:build !unix

package oprf

import "time"

// cpuTime is unavailable here; benchmarks then report 0 CPU per item.
func cpuTime() time.Duration { return 0 }
