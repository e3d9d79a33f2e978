//go:build !race

package oprf

const raceEnabled = false
