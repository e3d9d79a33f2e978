//go:build race

package xmd

// raceEnabled: under the race detector sync.Pool drops a quarter of what is
// put back, on purpose, so internal/xmd's pooled scratch allocates and the
// allocation budgets are not measurable there.
const raceEnabled = true
