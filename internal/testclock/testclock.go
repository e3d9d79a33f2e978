// Package testclock is a settable clock for tests: components that take a
// Now func count their waits on it, so a test moves past them without
// sleeping. It never reads the real clock after New.
package testclock

import (
	"sync"
	"time"
)

// Clock is a time that moves only when Advance says. It is safe for
// concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock standing at start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time; it has the shape of the Now fields of
// the components' configurations.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
