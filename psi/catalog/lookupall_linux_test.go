package catalog

import (
	"bytes"
	"os"
	"syscall"
	"testing"
)

// TestRingRefusalFallsBackToPread plays a kernel that refuses io_uring's
// reads (Linux before 5.6 has no read operation and answers EINVAL, as
// any kernel does for an unaligned read of a file opened O_DIRECT, which
// stands in for it here): the slots are read again with pread, right, and
// io_uring is switched off rather than failing every batch.
func TestRingRefusalFallsBackToPread(t *testing.T) {
	if !ringsAvailable(t) {
		t.Skip("io_uring unavailable")
	}
	c, _ := buildTest(t, 3000, 45)
	enc := encode(t, c)
	path := writeFile(t, enc)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	direct, err := os.OpenFile(path, os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		t.Skipf("O_DIRECT: %v", err)
	}
	defer direct.Close()
	t.Cleanup(func() { rings.off.Store(false) })
	m := &mapping{file: f, fd: int(direct.Fd()), slotsAt: int64(len(enc)) - int64(len(c.slots))}
	offs := []int64{m.slotOffset(0), m.slotOffset(7), m.slotOffset(uint32(c.params.Slots() - 1))}
	got := make([]byte, len(offs)*ValueSize)
	if err := m.readSlots(offs, got); err != nil {
		t.Fatal(err)
	}
	for i, off := range offs {
		if want := enc[off : off+ValueSize]; !bytes.Equal(got[i*ValueSize:(i+1)*ValueSize], want) {
			t.Fatalf("slot read %d: %x, file %x", i, got[i*ValueSize:(i+1)*ValueSize], want)
		}
	}
	if !rings.off.Load() {
		t.Fatal("io_uring still on after the kernel refused its reads")
	}
}
