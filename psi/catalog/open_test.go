package catalog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// writeFile writes data to a new file in a test directory.
func writeFile(t testing.TB, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.cat")
	if err := os.WriteFile(path, data, 0o400); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenMatchesDecode checks that a catalog opened from a file answers,
// encodes and describes itself exactly as the decoded one.
func TestOpenMatchesDecode(t *testing.T) {
	c, prfs := buildTest(t, 5000, 7)
	enc := encode(t, c)
	digest := c.Digest()
	o, err := Open(writeFile(t, enc), DecodeConfig{ExpectedDigest: &digest})
	if err != nil {
		t.Fatal(err)
	}
	assertMembers(t, o, prfs)
	for _, miss := range testPRFOutputs(8, 100) {
		if _, ok := o.Lookup(miss); ok {
			t.Fatal("non-member found in the opened catalog")
		}
	}
	if o.Digest() != digest || o.Len() != c.Len() || o.Meta() != c.Meta() || o.Params() != c.Params() {
		t.Fatalf("opened catalog differs: digest %x len %d meta %+v params %+v", o.Digest(), o.Len(), o.Meta(), o.Params())
	}
	if got := encode(t, o); !bytes.Equal(got, enc) {
		t.Fatal("opened catalog re-encodes to other bytes")
	}
}

// TestAdversaryOpenAlteredFile plays a provider (or a disk) that hands the
// requester a file other than the one the ledger names: cut short, with
// bytes appended, with one slot byte flipped, with a header announcing
// more slots than the limit, or empty. Open must refuse each with its
// error, never serve it and never read out of range.
func TestAdversaryOpenAlteredFile(t *testing.T) {
	c, _ := buildTest(t, 1000, 3)
	enc := encode(t, c)
	digest := c.Digest()
	hdrLen := len(c.header())
	flipped := bytes.Clone(enc)
	flipped[hdrLen+len(c.slots)/2] ^= 1
	cases := []struct {
		name string
		data []byte
		cfg  DecodeConfig
		want error
	}{
		{"empty", nil, DecodeConfig{}, ErrMalformed},
		{"header cut", enc[:hdrLen-1], DecodeConfig{}, ErrMalformed},
		{"slots cut", enc[:len(enc)-1], DecodeConfig{}, ErrMalformed},
		{"trailing byte", append(bytes.Clone(enc), 0), DecodeConfig{}, ErrTrailingData},
		{"slot byte flipped", flipped, DecodeConfig{ExpectedDigest: &digest}, ErrDigestMismatch},
		{"not a catalog", append([]byte("RMCX"), enc[4:]...), DecodeConfig{}, ErrMagic},
		{"over the byte limit", enc, DecodeConfig{MaxBytes: int64(len(enc) - 1)}, ErrLimit},
		{"over the item limit", enc, DecodeConfig{MaxItems: uint64(c.Len() - 1)}, ErrLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.data)
			o, err := Open(path, tc.cfg)
			if !errors.Is(err, tc.want) || o != nil {
				t.Fatalf("Open: catalog %v, error %v, want %v", o != nil, err, tc.want)
			}
			// The file's own mapping, not MappedBytes: other tests' catalogs
			// are released by the garbage collector at any moment.
			if runtime.GOOS == "linux" && isMapped(t, path) {
				t.Fatal("a refused file stays mapped")
			}
		})
	}
	if _, err := Open(t.TempDir(), DecodeConfig{}); err == nil {
		t.Fatal("Open accepted a directory")
	}
}

// TestOpenSurvivesReplacement checks the promise the mirror relies on:
// removing the verified file, or renaming another over it, leaves the
// opened catalog's answers unchanged.
func TestOpenSurvivesReplacement(t *testing.T) {
	c, prfs := buildTest(t, 2000, 4)
	other, _ := buildTest(t, 2000, 5)
	path := writeFile(t, encode(t, c))
	o, err := Open(path, DecodeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	next := path + ".next"
	if err := os.WriteFile(next, encode(t, other), 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, path); err != nil {
		t.Fatal(err)
	}
	assertMembers(t, o, prfs)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	assertMembers(t, o, prfs)
}

// TestOpenReleasesMapping checks that a catalog's mapping is released
// once nothing refers to the catalog any more, and not before. It looks
// for the file in the process's mappings (Linux's /proc/self/maps), since
// MappedBytes also moves with other tests' catalogs.
func TestOpenReleasesMapping(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/maps")
	}
	c, prfs := buildTest(t, 2000, 6)
	enc := encode(t, c)
	path := writeFile(t, enc)
	o, err := Open(path, DecodeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if !isMapped(t, path) || MappedBytes() < int64(len(enc)) {
		t.Fatalf("%s not mapped (MappedBytes %d)", path, MappedBytes())
	}
	runtime.GC()
	assertMembers(t, o, prfs) // o is still in use: its mapping must be intact
	if !isMapped(t, path) {
		t.Fatal("mapping released while the catalog is in use")
	}
	o = nil
	for isMapped(t, path) { // never released: the test times out
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// isMapped reports whether the process maps the file at path.
func isMapped(t *testing.T, path string) bool {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(maps)) {
		if strings.HasSuffix(strings.TrimSpace(line), " "+path) {
			return true
		}
	}
	return false
}

// FuzzOpen checks that Open accepts exactly what Decode accepts, with the
// same digest and the same answers, whether the slots are read in memory
// or from the file (beyond the resident budget).
func FuzzOpen(f *testing.F) {
	for _, n := range []int{0, 1, 5} {
		c, _ := buildTest(f, n, uint64(n))
		enc := encode(f, c)
		f.Add(enc)
		f.Add(enc[:len(enc)/2])
	}
	probes := testPRFOutputs(1, 5)
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := DecodeConfig{MaxBytes: 1 << 20}
		d, derr := Decode(bytes.NewReader(in), cfg)
		path := writeFile(t, in)
		o, oerr := Open(path, cfg)
		if (derr == nil) != (oerr == nil) {
			t.Fatalf("Decode error %v, Open error %v", derr, oerr)
		}
		if derr != nil {
			return
		}
		withBudget(t, 1)
		read := openTest(t, path) // slots read from the file
		if d.Digest() != o.Digest() || d.Digest() != read.Digest() {
			t.Fatal("Open and Decode digests differ")
		}
		for _, p := range probes {
			dl, dok := d.Lookup(p)
			for _, c := range []*Catalog{o, read} {
				if l, ok := c.Lookup(p); dl != l || dok != ok {
					t.Fatal("Open and Decode answer differently")
				}
			}
		}
		if err := read.Err(); err != nil {
			t.Fatal(err)
		}
	})
}
