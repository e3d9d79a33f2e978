//go:build !race

package xmd

const raceEnabled = false
