package catalog

import (
	"os"
	"sync/atomic"
)

// DefaultResidentBudget is the resident budget of opened catalogs until
// SetResidentBudget changes it: 256 MiB, so that a requester holding 20
// providers' catalogs of 10^7 entries (4.5 GB of files) stays well under
// 1 GB of resident memory (docs/benchmarks.md, "Held catalogs at the
// target").
const DefaultResidentBudget = 256 << 20

var (
	// residentBudget is the process-wide budget, in bytes, of opened
	// catalogs that look-ups read in memory; zero means
	// DefaultResidentBudget.
	residentBudget atomic.Int64
	// residentBytes is the size of the opened catalogs read in memory.
	residentBytes atomic.Int64
)

// SetResidentBudget sets how many bytes of opened catalogs the process's
// look-ups may make resident, in all (zero or less restores
// DefaultResidentBudget).
//
// Open maps every catalog, but only while the catalogs read in memory fit
// in the budget does it make one more of them read in memory (at Open, or
// at a later look-up once the budget has room again): its look-ups
// read the mapped slots and the pages they touch stay resident, file-backed,
// in the process. Look-ups in the others read their slots from the file,
// which leaves nothing mapped: the bytes come from the kernel's page cache,
// which belongs to no process and is evicted under memory pressure. So the
// process never holds more than the budget of catalog pages, at the price
// of system calls in the catalogs beyond it: one per batch of up to 1,024
// slots through io_uring where the system allows it (LookupAll batches a
// few hundred look-ups, Lookup one), else one positioned read (pread) per
// slot. Catalogs decoded into the heap (Decode, Build) are not counted.
func SetResidentBudget(n int64) { residentBudget.Store(max(n, 0)) }

// budget returns the resident budget in force.
func budget() int64 {
	if b := residentBudget.Load(); b > 0 {
		return b
	}
	return DefaultResidentBudget
}

// claimResident reserves size bytes of the budget for a catalog to be read
// in memory, if they fit.
func claimResident(size int64) bool {
	limit := budget()
	for {
		used := residentBytes.Load()
		if used+size > limit {
			return false
		}
		if residentBytes.CompareAndSwap(used, used+size) {
			return true
		}
	}
}

// mapping is the file of a catalog that Open mapped.
type mapping struct {
	file    *os.File // kept open for positioned reads
	fd      int      // file's descriptor, for io_uring's reads
	slotsAt int64    // where the slot array starts in the file
	size    int64    // the file's size, claimed from the budget if resident
	// resident is set once size is claimed: look-ups then read the mapped
	// slots, not the file. It is never cleared while the catalog lives.
	resident atomic.Bool
	claiming atomic.Bool // one look-up at a time tries to claim
	// readErr is the first failed read of the file, kept for Err.
	readErr atomic.Pointer[error]
}

// inMemory reports whether look-ups read the mapped slots. A catalog
// opened beyond the budget claims its share as soon as the budget has
// room, when catalogs read in memory are released, for instance those of
// a period that ended, since Open of the next period's ran while they were
// still held.
func (m *mapping) inMemory() bool {
	if m.resident.Load() {
		return true
	}
	if residentBytes.Load()+m.size > budget() || !m.claiming.CompareAndSwap(false, true) {
		return false
	}
	defer m.claiming.Store(false)
	if !claimResident(m.size) {
		return false
	}
	m.resident.Store(true)
	return true
}

// slotOffset returns where slot t lies in the file.
func (m *mapping) slotOffset(t uint32) int64 { return m.slotsAt + int64(t)*ValueSize }

// readSlots reads the ValueSize bytes at each of offs (at most ringEntries)
// into dst, in order: in one io_uring batch where the system allows it,
// else with one positioned read each. If the batch fails for any reason it
// is read again with positioned reads, so that an error returned (and
// recorded for Err) is the file's, never the ring's.
func (m *mapping) readSlots(offs []int64, dst []byte) error {
	if r := rings.get(); r != nil {
		b, err := r.ReadAt(m.fd, offs)
		copy(dst, b) // before another batch reuses the ring's buffer
		rings.put(r, err)
		if err == nil {
			return nil
		}
	}
	for i, off := range offs {
		if _, err := m.file.ReadAt(dst[i*ValueSize:(i+1)*ValueSize], off); err != nil {
			m.fail(err)
			return err
		}
	}
	return nil
}

// fail records err unless an earlier error is recorded.
func (m *mapping) fail(err error) { m.readErr.CompareAndSwap(nil, &err) }

// release closes the file and returns the mapping's share of the budget.
func (m *mapping) release() {
	m.file.Close() // read only: nothing to lose
	if m.resident.Load() {
		residentBytes.Add(-m.size)
	}
}
