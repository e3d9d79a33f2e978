//go:build race

package hepsi

// raceEnabled lets the slowest tests skip their largest cases under the
// race detector, which makes lattigo's arithmetic about ten times slower.
const raceEnabled = true
