package uring

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// newTestRing returns a ring of entries reads of size bytes, closed when
// the test ends, or skips the test where io_uring is unavailable.
func newTestRing(t testing.TB, entries, size int) *Ring {
	t.Helper()
	r, err := New(entries, size)
	if errors.Is(err, ErrUnsupported) {
		t.Skipf("io_uring: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// testFile writes n pseudorandom bytes to a file and returns it, opened,
// with its contents.
func testFile(t testing.TB, n int, seed uint64) (*os.File, []byte) {
	t.Helper()
	data := make([]byte, n)
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, data
}

// TestReadAtMatchesFile is a property test: batches of random sizes (up to
// the ring's entries) at random offsets, some of them overlapping or
// repeated, return exactly the file's bytes, in the batch's order, over
// many batches through one ring.
func TestReadAtMatchesFile(t *testing.T) {
	const size = 20
	r := newTestRing(t, 64, size)
	f, data := testFile(t, 1<<20, 1)
	rng := rand.New(rand.NewPCG(2, 2))
	for batch := range 300 {
		offs := make([]int64, 1+rng.IntN(r.Entries()))
		for i := range offs {
			offs[i] = rng.Int64N(int64(len(data) - size + 1))
			if i > 0 && rng.IntN(8) == 0 {
				offs[i] = offs[rng.IntN(i)]
			}
		}
		got, err := r.ReadAt(int(f.Fd()), offs)
		if err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		if len(got) != len(offs)*size {
			t.Fatalf("batch %d: %d bytes for %d reads", batch, len(got), len(offs))
		}
		for i, off := range offs {
			if !bytes.Equal(got[i*size:(i+1)*size], data[off:off+size]) {
				t.Fatalf("batch %d read %d at %d: %x, file %x", batch, i, off, got[i*size:(i+1)*size], data[off:off+size])
			}
		}
	}
}

// TestReadAtFailures checks that a read that cannot be served is reported
// as that read's error, never as bytes, and that the ring serves the next
// batch.
func TestReadAtFailures(t *testing.T) {
	const size = 20
	r := newTestRing(t, 8, size)
	f, data := testFile(t, 4096, 3)
	n := int64(len(data))
	for _, c := range []struct {
		name  string
		fd    int
		offs  []int64
		index int
		want  error
	}{
		{"past the end", int(f.Fd()), []int64{0, n, 40}, 1, io.EOF},
		{"short at the end", int(f.Fd()), []int64{0, 100, n - size + 1}, 2, io.EOF},
		{"bad descriptor", -1, []int64{0}, 0, syscall.EBADF},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := r.ReadAt(c.fd, c.offs)
			var re *ReadError
			if !errors.As(err, &re) || re.Index != c.index || re.Offset != c.offs[c.index] || !errors.Is(err, c.want) {
				t.Fatalf("err %v, want a ReadError of read %d wrapping %v", err, c.index, c.want)
			}
			got, err := r.ReadAt(int(f.Fd()), []int64{8, 16})
			if err != nil || !bytes.Equal(got, append(data[8:8+size:8+size], data[16:16+size]...)) {
				t.Fatalf("next batch: %x, %v", got, err)
			}
		})
	}
}

// TestReadAtTooMany checks that a batch larger than the ring is refused
// before anything is queued.
func TestReadAtTooMany(t *testing.T) {
	r := newTestRing(t, 4, 20)
	f, _ := testFile(t, 4096, 4)
	if _, err := r.ReadAt(int(f.Fd()), make([]int64, r.Entries()+1)); !errors.Is(err, ErrTooMany) {
		t.Fatalf("err %v, want ErrTooMany", err)
	}
	if got, err := r.ReadAt(int(f.Fd()), make([]int64, r.Entries())); err != nil || len(got) != r.Entries()*20 {
		t.Fatalf("a full batch: %d bytes, %v", len(got), err)
	}
}

// TestRingsInParallel runs one ring per goroutine at once (under -race):
// each returns its own reads.
func TestRingsInParallel(t *testing.T) {
	const size = 16
	f, data := testFile(t, 1<<16, 5)
	var wg sync.WaitGroup
	for g := range 4 {
		r := newTestRing(t, 32, size)
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 6))
			for range 200 {
				offs := make([]int64, 1+rng.IntN(r.Entries()))
				for i := range offs {
					offs[i] = rng.Int64N(int64(len(data) - size))
				}
				got, err := r.ReadAt(int(f.Fd()), offs)
				if err != nil {
					t.Error(err)
					return
				}
				for i, off := range offs {
					if !bytes.Equal(got[i*size:(i+1)*size], data[off:off+size]) {
						t.Errorf("goroutine %d read %d: wrong bytes", g, i)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestNewRejectsSizes checks New's bounds.
func TestNewRejectsSizes(t *testing.T) {
	for _, c := range []struct{ entries, size int }{{0, 20}, {1 << 16, 20}, {8, 0}, {8, 1<<20 + 1}} {
		if r, err := New(c.entries, c.size); err == nil {
			r.Close()
			t.Errorf("New(%d, %d) accepted", c.entries, c.size)
		}
	}
}
