//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package catalog

import "os"

// mapFile reports that this platform has no file mapping.
func mapFile(*os.File, int) ([]byte, error) { return nil, errNoMapping }

func unmapFile([]byte) {}

func dropPages([]byte) {}
