//go:build !race

package hepsi

const raceEnabled = false
