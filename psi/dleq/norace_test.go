//go:build !race

package dleq_test

const raceEnabled = false
