//go:build linux

package uring

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's ABI (include/uapi/linux/io_uring.h).
const (
	opRead         = 22         // IORING_OP_READ
	enterGetEvents = 1 << 0     // IORING_ENTER_GETEVENTS
	featSingleMmap = 1 << 0     // IORING_FEAT_SINGLE_MMAP: one mapping holds both rings
	offSQEs        = 0x10000000 // IORING_OFF_SQES; the rings are at offset 0
)

// params is struct io_uring_params.
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	_                                                                      [3]uint32
	sqOff                                                                  sqOffsets
	cqOff                                                                  cqOffsets
}

// sqOffsets is struct io_sqring_offsets: where each field of the
// submission ring lies in the mapping.
type sqOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, _ uint32
	_                                                           uint64
}

// cqOffsets is struct io_cqring_offsets.
type cqOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, _ uint32
	_                                                           uint64
}

// sqe is struct io_uring_sqe, as a read uses it.
type sqe struct {
	opcode   uint8
	flags    uint8
	ioprio   uint16
	fd       int32
	off      uint64
	addr     uint64
	len      uint32
	rwFlags  uint32
	userData uint64
	_        [3]uint64
}

// cqe is struct io_uring_cqe (without IORING_SETUP_CQE32).
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// The structures' sizes are the ABI's.
var (
	_ [120]byte = [unsafe.Sizeof(params{})]byte{}
	_ [64]byte  = [unsafe.Sizeof(sqe{})]byte{}
	_ [16]byte  = [unsafe.Sizeof(cqe{})]byte{}
)

// Ring is one io_uring with a buffer for the bytes its reads return. It is
// not safe for concurrent use.
type Ring struct {
	fd       int
	size     int // bytes per read
	entries  int
	ringMem  []byte // both rings (IORING_FEAT_SINGLE_MMAP)
	sqeMem   []byte
	buf      []byte // entries * size bytes, mapped, never in the Go heap
	sqHead   *uint32
	sqTail   *uint32
	sqMask   uint32
	sqes     []sqe
	cqHead   *uint32
	cqTail   *uint32
	cqMask   uint32
	cqes     []cqe
	results  []int32 // the current batch's result per read
	inFlight bool    // a batch's requests may still be in the kernel
}

// New sets up a ring for batches of up to entries reads (rounded up to a
// power of two by the kernel; at most 32768) of size bytes each. It fails
// with ErrUnsupported where the kernel or the process's sandbox refuses
// io_uring.
func New(entries, size int) (*Ring, error) {
	if entries < 1 || entries > 1<<15 || size < 1 || size > 1<<20 {
		return nil, fmt.Errorf("uring: %d entries of %d bytes", entries, size)
	}
	var p params
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		switch errno {
		case unix.ENOSYS, unix.EPERM, unix.EACCES, unix.EINVAL:
			return nil, fmt.Errorf("%w: %w", ErrUnsupported, errno)
		}
		return nil, fmt.Errorf("uring: setup: %w", errno)
	}
	r := &Ring{fd: int(fd), size: size, entries: int(p.sqEntries)}
	if err := r.mapRings(&p); err != nil {
		r.release()
		return nil, err
	}
	return r, nil
}

// mapRings maps the rings, the submission entries and the read buffer.
func (r *Ring) mapRings(p *params) error {
	if p.features&featSingleMmap == 0 {
		return fmt.Errorf("%w: kernel without IORING_FEAT_SINGLE_MMAP", ErrUnsupported)
	}
	ringSize := max(int(p.sqOff.array)+int(p.sqEntries)*4, int(p.cqOff.cqes)+int(p.cqEntries)*int(unsafe.Sizeof(cqe{})))
	var err error
	const shared = unix.MAP_SHARED | unix.MAP_POPULATE
	if r.ringMem, err = unix.Mmap(r.fd, 0, ringSize, unix.PROT_READ|unix.PROT_WRITE, shared); err != nil {
		return fmt.Errorf("uring: map rings: %w", err)
	}
	if r.sqeMem, err = unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(sqe{})), unix.PROT_READ|unix.PROT_WRITE, shared); err != nil {
		return fmt.Errorf("uring: map entries: %w", err)
	}
	if r.buf, err = unix.Mmap(-1, 0, r.entries*r.size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE); err != nil {
		return fmt.Errorf("uring: map buffer: %w", err)
	}
	field := func(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&r.ringMem[off])) }
	r.sqHead, r.sqTail, r.sqMask = field(p.sqOff.head), field(p.sqOff.tail), *field(p.sqOff.ringMask)
	r.cqHead, r.cqTail, r.cqMask = field(p.cqOff.head), field(p.cqOff.tail), *field(p.cqOff.ringMask)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	r.cqes = unsafe.Slice((*cqe)(unsafe.Pointer(&r.ringMem[p.cqOff.cqes])), p.cqEntries)
	// Submission entry i always goes through array slot i.
	array := unsafe.Slice(field(p.sqOff.array), p.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.results = make([]int32, r.entries)
	return nil
}

// Entries returns the most reads a batch may have.
func (r *Ring) Entries() int { return r.entries }

// ReadAt reads Size bytes at each of offs from the file fd, in one system
// call when the file's pages are cached (more only while the kernel reads
// from the device), and returns them concatenated, in the order of offs,
// in the ring's buffer: valid until the next ReadAt. A read that fails or
// comes back short is a *ReadError (the first, by index); the others were
// read. ReadAt returns only once the kernel has finished with every read
// of the batch, or with ErrBroken, after which the ring is not used again.
func (r *Ring) ReadAt(fd int, offs []int64) ([]byte, error) {
	if r.inFlight {
		return nil, ErrBroken
	}
	if len(offs) > r.entries {
		return nil, fmt.Errorf("%w: %d reads, %d entries", ErrTooMany, len(offs), r.entries)
	}
	if len(offs) == 0 {
		return r.buf[:0], nil
	}
	base := uintptr(unsafe.Pointer(&r.buf[0]))
	tail := atomic.LoadUint32(r.sqTail)
	for i, off := range offs {
		r.sqes[(tail+uint32(i))&r.sqMask] = sqe{
			opcode:   opRead,
			fd:       int32(fd),
			off:      uint64(off),
			addr:     uint64(base + uintptr(i*r.size)),
			len:      uint32(r.size),
			userData: uint64(i),
		}
	}
	// The entries are written before the tail that hands them over.
	atomic.StoreUint32(r.sqTail, tail+uint32(len(offs)))
	r.inFlight = true
	if err := r.complete(len(offs)); err != nil {
		return nil, err // inFlight stays set: the ring is not used again
	}
	r.inFlight = false
	for i, res := range r.results[:len(offs)] {
		switch {
		case res < 0:
			return nil, &ReadError{Index: i, Offset: offs[i], Err: unix.Errno(-res)}
		case int(res) < r.size:
			return nil, &ReadError{Index: i, Offset: offs[i], Err: io.EOF}
		}
	}
	return r.buf[: len(offs)*r.size : len(offs)*r.size], nil
}

// complete submits the n entries just queued and waits for all n
// completions, recording each read's result.
func (r *Ring) complete(n int) error {
	// The completions of a thread's requests may be delivered as work of
	// that thread; waiting on the same thread sees them at once.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	done := 0
	for done < n {
		unsubmitted := atomic.LoadUint32(r.sqTail) - atomic.LoadUint32(r.sqHead)
		// Submits what is queued and waits for the rest; if the kernel
		// takes only part of the queue, it returns without waiting.
		_, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(unsubmitted), uintptr(n-done), enterGetEvents, 0, 0)
		switch errno {
		case 0, unix.EINTR, unix.EAGAIN, unix.EBUSY:
			// Interrupted (the Go runtime preempts with signals) or short
			// of kernel resources until completions are reaped: reap and
			// go on.
		default:
			return fmt.Errorf("%w: enter: %w", ErrBroken, errno)
		}
		head, ctail := atomic.LoadUint32(r.cqHead), atomic.LoadUint32(r.cqTail)
		for ; head != ctail; head++ {
			c := &r.cqes[head&r.cqMask]
			if c.userData >= uint64(n) {
				return fmt.Errorf("%w: completion of an unknown request", ErrBroken)
			}
			r.results[c.userData] = c.res
			done++
		}
		atomic.StoreUint32(r.cqHead, head)
	}
	return nil
}

// Close releases the ring. A broken ring's buffer stays mapped, since the
// kernel may still write into it.
func (r *Ring) Close() error {
	if r.inFlight {
		r.buf = nil
	}
	return r.release()
}

// release unmaps what is mapped and closes the ring's descriptor.
func (r *Ring) release() error {
	var errs []error
	for _, m := range [][]byte{r.buf, r.sqeMem, r.ringMem} {
		if m != nil {
			errs = append(errs, unix.Munmap(m))
		}
	}
	r.buf, r.sqeMem, r.ringMem = nil, nil, nil
	errs = append(errs, unix.Close(r.fd))
	return errors.Join(errs...)
}
