//go:build unix

package cputime

import (
	"syscall"
	"time"
)

// Self returns the user plus system CPU time this process has used so far,
// on all its threads; zero if the kernel will not say.
func Self() time.Duration { return usage(syscall.RUSAGE_SELF) }

// Children returns the user plus system CPU time of this process's child
// processes that have ended and been waited for.
func Children() time.Duration { return usage(syscall.RUSAGE_CHILDREN) }

func usage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
