package growbuf

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestReadFull(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 100) // 1,000 bytes
	errRead := errors.New("read failed")
	for name, tc := range map[string]struct {
		r       io.Reader
		n       int
		want    []byte
		wantErr error
	}{
		"exact":                 {bytes.NewReader(data), len(data), data, nil},
		"prefix":                {bytes.NewReader(data), 300, data[:300], nil},
		"one byte at a time":    {iotest.OneByteReader(bytes.NewReader(data)), len(data), data, nil},
		"nothing wanted":        {bytes.NewReader(data), 0, []byte{}, nil},
		"short":                 {bytes.NewReader(data), len(data) + 1, data, io.ErrUnexpectedEOF},
		"empty":                 {bytes.NewReader(nil), 5, []byte{}, io.ErrUnexpectedEOF},
		"reader error":          {iotest.ErrReader(errRead), 5, []byte{}, errRead},
		"error after some data": {io.MultiReader(bytes.NewReader(data[:7]), iotest.ErrReader(errRead)), 100, data[:7], errRead},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ReadFull(tc.r, tc.n, 16)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("read %d bytes %q, want %d", len(got), got, len(tc.want))
			}
			if cap(got) > max(tc.n, 0) {
				t.Fatalf("buffer of %d bytes for %d announced", cap(got), tc.n)
			}
		})
	}
}

// An announced length the bytes never follow costs the first chunk only.
func TestReadFullAllocatesAsBytesArrive(t *testing.T) {
	got, err := ReadFull(bytes.NewReader(make([]byte, 10)), 1<<30, 64)
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != 10 {
		t.Fatalf("read %d bytes, %v; want 10 and io.ErrUnexpectedEOF", len(got), err)
	}
	if cap(got) > 64 {
		t.Fatalf("buffer of %d bytes for 10 received, first chunk 64", cap(got))
	}
	got, err = ReadFull(bytes.NewReader(make([]byte, 1000)), 1<<30, 64)
	if !errors.Is(err, io.ErrUnexpectedEOF) || cap(got) > 2*1000 {
		t.Fatalf("buffer of %d bytes for 1000 received (%v): more than double", cap(got), err)
	}
}

// FuzzReadFull: whatever the input, the announced length and the first
// chunk, ReadFull returns the input's first n bytes when there are n, and
// otherwise all of them with io.ErrUnexpectedEOF, in a buffer never larger
// than n.
func FuzzReadFull(f *testing.F) {
	f.Add([]byte("hello"), uint16(3), uint16(1))
	f.Add([]byte("hello"), uint16(9), uint16(4))
	f.Add([]byte{}, uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, n, first uint16) {
		got, err := ReadFull(iotest.HalfReader(bytes.NewReader(data)), int(n), int(first))
		if cap(got) > int(n) {
			t.Fatalf("buffer of %d bytes for %d announced", cap(got), n)
		}
		if len(data) >= int(n) {
			if err != nil || !bytes.Equal(got, data[:n]) {
				t.Fatalf("ReadFull(%d of %d bytes) = %d bytes, %v", n, len(data), len(got), err)
			}
			return
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(got, data) {
			t.Fatalf("ReadFull(%d of %d bytes) = %d bytes, %v; want all of them and io.ErrUnexpectedEOF", n, len(data), len(got), err)
		}
	})
}
