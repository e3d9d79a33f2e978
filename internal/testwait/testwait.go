// Package testwait is how tests wait for another process's or goroutine's
// background work (a node's registration, a peer committing a block): by
// checking until the check holds, for a bounded time, never by sleeping a
// guessed amount.
package testwait

import (
	"testing"
	"time"
)

// Poll is the pause between checks.
const Poll = 50 * time.Millisecond

// Until runs check until it returns nil, for at most within, and fails the
// test naming what with the last error if it never does.
func Until(t testing.TB, what string, within time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
			return
		}
		time.Sleep(Poll)
	}
}
