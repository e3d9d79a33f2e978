package catalog

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// encodeParts returns the encoding of a catalog with the given header
// fields and an all-zero slot array of the size those fields imply (capped,
// so that absurd parameters produce a short body rather than a huge test
// allocation).
func encodeParts(meta Meta, items uint64, p Params) []byte {
	c := &Catalog{meta: meta, params: p, items: items}
	h := c.header()
	slots := (uint64(p.SegmentCount) + uint64(p.Arity) - 1) * uint64(p.SegmentLength) * ValueSize
	return append(h, make([]byte, min(slots, 1<<16))...)
}

func TestDecodeRejects(t *testing.T) {
	good, _ := buildTest(t, 100, 1)
	enc := encode(t, good)
	hdrLen := len(good.header())
	meta, params, items := good.Meta(), good.Params(), uint64(good.Len())

	withMeta := func(f func(*Meta)) []byte {
		m := meta
		f(&m)
		return encodeParts(m, items, params)
	}
	withParams := func(f func(*Params)) []byte {
		p := params
		f(&p)
		return encodeParts(meta, items, p)
	}
	patch := func(off int, b ...byte) []byte {
		c := bytes.Clone(enc)
		copy(c[off:], b)
		return c
	}
	wrongDigest := good.Digest()
	wrongDigest[0] ^= 1

	tests := []struct {
		name string
		in   []byte
		cfg  DecodeConfig
		want error
	}{
		{"empty", nil, DecodeConfig{}, ErrMalformed},
		{"wrong magic", patch(0, 'R', 'M', 'C', 'X'), DecodeConfig{}, ErrMagic},
		{"version 0", patch(4, 0, 0), DecodeConfig{}, ErrVersion},
		{"version 2", patch(4, 0, 2), DecodeConfig{}, ErrVersion},
		{"suite too long", withMeta(func(m *Meta) { m.Suite = strings.Repeat("s", MaxSuiteLen+1) }), DecodeConfig{}, ErrMeta},
		{"empty suite", withMeta(func(m *Meta) { m.Suite = "" }), DecodeConfig{}, ErrMeta},
		{"suite with a space", withMeta(func(m *Meta) { m.Suite = "ristretto255 SHA512" }), DecodeConfig{}, ErrMeta},
		{"provider too long", withMeta(func(m *Meta) { m.Provider = strings.Repeat("p", MaxProviderLen+1) }), DecodeConfig{}, ErrMeta},
		{"empty provider", withMeta(func(m *Meta) { m.Provider = "" }), DecodeConfig{}, ErrMeta},
		{"category too long", withMeta(func(m *Meta) { m.Category = strings.Repeat("c", MaxCategoryLen+1) }), DecodeConfig{}, ErrMeta},
		{"category with a bar", withMeta(func(m *Meta) { m.Category = "black|2" }), DecodeConfig{}, ErrMeta},
		{"arity 2", withParams(func(p *Params) { p.Arity = 2 }), DecodeConfig{}, ErrParams},
		{"arity 5", withParams(func(p *Params) { p.Arity = 5 }), DecodeConfig{}, ErrParams},
		{"segment length 0", withParams(func(p *Params) { p.SegmentLength = 0 }), DecodeConfig{}, ErrParams},
		{"segment length not a power of two", withParams(func(p *Params) { p.SegmentLength = 48 }), DecodeConfig{}, ErrParams},
		{"segment length 2^19", withParams(func(p *Params) { p.SegmentLength = 1 << 19 }), DecodeConfig{}, ErrParams},
		{"segment count 0", withParams(func(p *Params) { p.SegmentCount = 0 }), DecodeConfig{}, ErrParams},
		{"more than MaxSlots slots", withParams(func(p *Params) { p.SegmentLength, p.SegmentCount = MaxSegmentLength, 1<<13 }), DecodeConfig{}, ErrParams},
		{"value size 16", patch(hdrLen-2, 0, 16), DecodeConfig{}, ErrParams},
		{"more items than slots", encodeParts(meta, params.slots()+1, params), DecodeConfig{}, ErrParams},
		{"item count 2^64-1", encodeParts(meta, 1<<64-1, params), DecodeConfig{}, ErrParams},
		{"items over the limit", enc, DecodeConfig{MaxItems: items - 1}, ErrLimit},
		{"bytes over the limit", enc, DecodeConfig{MaxBytes: int64(len(enc)) - 1}, ErrLimit},
		{"announces 1 GiB, sends 64 KiB", withParams(func(p *Params) { p.SegmentLength, p.SegmentCount = MaxSegmentLength, 200 }), DecodeConfig{MaxBytes: 2 << 30}, ErrMalformed},
		{"truncated slots", enc[:len(enc)-1], DecodeConfig{}, ErrMalformed},
		{"trailing byte", append(bytes.Clone(enc), 0), DecodeConfig{}, ErrTrailingData},
		{"digest mismatch", enc, DecodeConfig{ExpectedDigest: &wrongDigest}, ErrDigestMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Decode(bytes.NewReader(tt.in), tt.cfg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if c != nil {
				t.Fatal("a catalog was returned with the error")
			}
		})
	}

	t.Run("every truncated header", func(t *testing.T) {
		for n := range hdrLen {
			if _, err := Decode(bytes.NewReader(enc[:n]), DecodeConfig{}); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrMagic) {
				t.Fatalf("header cut at %d bytes: err = %v", n, err)
			}
		}
	})
	t.Run("allocation follows the data, not the header", func(t *testing.T) {
		// A header announcing a 1 GiB slot array followed by 64 KiB must not
		// make the decoder allocate the announced size.
		in := withParams(func(p *Params) { p.SegmentLength, p.SegmentCount = MaxSegmentLength, 200 })
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := Decode(bytes.NewReader(in), DecodeConfig{MaxBytes: 2 << 30}); !errors.Is(err, ErrMalformed) {
			t.Fatalf("err = %v, want ErrMalformed", err)
		}
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
			t.Fatalf("decoder allocated %d bytes for 64 KiB of input", grew)
		}
	})
	t.Run("reader error", func(t *testing.T) {
		r := io.MultiReader(bytes.NewReader(enc[:hdrLen+10]), iotest.ErrReader(io.ErrClosedPipe))
		if _, err := Decode(r, DecodeConfig{}); !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("err = %v, want the reader's error", err)
		}
	})
	t.Run("one byte at a time", func(t *testing.T) {
		d := good.Digest()
		if _, err := Decode(iotest.OneByteReader(bytes.NewReader(enc)), DecodeConfig{ExpectedDigest: &d}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDigestCoversEveryByte(t *testing.T) {
	// Any single-byte change to the encoding is either rejected by the
	// parser or caught by the digest check: nothing in the stream escapes
	// the digest the ledger holds.
	c, _ := buildTest(t, 40, 2)
	enc := encode(t, c)
	d := c.Digest()
	for i := range enc {
		for _, flip := range []byte{0x01, 0x80} {
			mod := bytes.Clone(enc)
			mod[i] ^= flip
			if _, err := Decode(bytes.NewReader(mod), DecodeConfig{ExpectedDigest: &d}); err == nil {
				t.Fatalf("byte %d ^ %#x: decoded against the original digest", i, flip)
			}
		}
	}
}
