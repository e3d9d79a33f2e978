//go:build race

package dleq_test

// raceEnabled skips the allocation counts, which the race detector changes.
const raceEnabled = true
