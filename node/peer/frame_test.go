package peer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// frameBytes returns a length prefix announcing n followed by body.
func frameBytes(t testing.TB, n uint32, body []byte) []byte {
	t.Helper()
	b := binary.BigEndian.AppendUint32(nil, n)
	return append(b, body...)
}

func sampleRequest() *riskmeshv1.PeerRequest {
	return &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogInfo{
		CatalogInfo: &riskmeshv1.CatalogInfoRequest{Provider: "bank-a", Category: "fraud", Period: 7},
	}}
}

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	want := sampleRequest()
	if err := WriteFrame(&buf, want, riskmeshv1.MaxPeerRequestSize); err != nil {
		t.Fatal(err)
	}
	got := new(riskmeshv1.PeerRequest)
	if err := ReadFrame(&buf, got, riskmeshv1.MaxPeerRequestSize); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if err := ReadFrame(&buf, got, riskmeshv1.MaxPeerRequestSize); err != io.EOF {
		t.Fatalf("read past the last frame: got %v, want io.EOF", err)
	}
}

func TestReadFrameMalformed(t *testing.T) {
	good, err := proto.Marshal(sampleRequest())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		input []byte
		max   int
		want  error
	}{
		{"no bytes", nil, 1024, io.EOF},
		{"short length", []byte{0, 0, 1}, 1024, io.ErrUnexpectedEOF},
		{"zero length", frameBytes(t, 0, nil), 1024, ErrEmptyFrame},
		{"length above limit", frameBytes(t, 1025, make([]byte, 1025)), 1024, ErrFrameTooLarge},
		{"maximal length announced", frameBytes(t, 1<<32-1, nil), riskmeshv1.MaxPeerRequestSize, ErrFrameTooLarge},
		{"negative limit", frameBytes(t, 1, []byte{0}), -1, ErrFrameTooLarge},
		{"truncated body", frameBytes(t, uint32(len(good)), good[:len(good)-1]), 1024, io.ErrUnexpectedEOF},
		{"body not protobuf", frameBytes(t, 2, []byte{0xff, 0xff}), 1024, ErrMalformedFrame},
		{"wrong wire type", frameBytes(t, 2, []byte{0x0a, 0xff}), 1024, ErrMalformedFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ReadFrame(bytes.NewReader(tt.input), new(riskmeshv1.PeerRequest), tt.max)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestWriteFrameRefuses(t *testing.T) {
	tests := []struct {
		name string
		m    proto.Message
		max  int
		want error
	}{
		{"empty message", &riskmeshv1.PeerRequest{}, 1024, ErrEmptyFrame},
		{"above limit", sampleRequest(), 4, ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteFrame(&buf, tt.m, tt.max); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Fatalf("wrote %d bytes of a refused frame", buf.Len())
			}
		})
	}
}

// TestReadFrameBoundedAllocation checks that a frame announcing the largest
// accepted request but delivering only a few bytes costs about readChunk,
// not the announced 2 MiB.
func TestReadFrameBoundedAllocation(t *testing.T) {
	input := frameBytes(t, riskmeshv1.MaxPeerRequestSize, []byte{1, 2, 3})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := ReadFrame(bytes.NewReader(input), new(riskmeshv1.PeerRequest), riskmeshv1.MaxPeerRequestSize)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want io.ErrUnexpectedEOF", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 4*readChunk {
		t.Fatalf("allocated %d bytes for a 3-byte body (limit %d)", got, 4*readChunk)
	}
}

// FuzzReadFrame checks that ReadFrame never panics, refuses an oversized
// frame without reading its body, and that whatever it accepts round-trips
// through WriteFrame.
func FuzzReadFrame(f *testing.F) {
	good, err := proto.Marshal(sampleRequest())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(frameBytes(f, uint32(len(good)), good))
	f.Add(frameBytes(f, 0, nil))
	f.Add(frameBytes(f, 1<<32-1, good))
	f.Add(frameBytes(f, 2, []byte{0xff, 0xff}))
	f.Add([]byte{0, 0})
	const limit = 4096
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		m := new(riskmeshv1.PeerRequest)
		err := ReadFrame(r, m, limit)
		if len(data) >= frameHeaderLen && binary.BigEndian.Uint32(data) > limit {
			if !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("oversized frame: got %v", err)
			}
			if consumed := len(data) - r.Len(); consumed != frameHeaderLen {
				t.Fatalf("read %d bytes of an oversized frame", consumed)
			}
			return
		}
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteFrame(&buf, m, limit); err != nil {
			if errors.Is(err, ErrEmptyFrame) {
				return // a body of unknown fields only may re-encode empty
			}
			t.Fatalf("re-encode: %v", err)
		}
		again := new(riskmeshv1.PeerRequest)
		if err := ReadFrame(&buf, again, limit); err != nil {
			t.Fatalf("read re-encoded frame: %v", err)
		}
		if !proto.Equal(m, again) {
			t.Fatalf("round trip changed the message: %v != %v", m, again)
		}
	})
}
