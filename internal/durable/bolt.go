package durable

import (
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BoltMmapSize is the address space a node's bbolt file maps when it
// opens (bolt.Options.InitialMmapSize): 1 GiB on 64-bit platforms, none
// reserved ahead on 32-bit ones, where address space is scarce.
//
// Without it bbolt maps a fresh file at 32 KB and, each time a commit
// outgrows the mapping, waits for every reader, unmaps, maps twice the
// size, and extends and fsyncs the file: 13 times over a fresh node's
// first forty 1,000-identifier answers, about 2.4 ms of an answer's
// journal commit each time, on the path of the answer. With the mapping
// reserved, bbolt extends the file in steps of bolt.DefaultAllocSize
// (16 MiB, sparse until written) and remaps only past 1 GiB. The
// reservation is address space, not memory: the kernel backs only the
// pages read, which the file's size bounds, so the resident set does not
// grow with it (docs/node.md, "Files").
const BoltMmapSize = (strconv.IntSize / 64) << 30 // 1 GiB, or 0 where int has 32 bits

// BoltOptions are the options a node's bbolt files (node.db, the embedded
// ledger's) are opened with for writing, timeout the wait for the file's
// lock. Durability is bbolt's default: every commit is fdatasynced twice
// (pages, then the meta page) and growing the file is fsynced.
func BoltOptions(timeout time.Duration) *bolt.Options {
	return &bolt.Options{Timeout: timeout, InitialMmapSize: BoltMmapSize}
}
