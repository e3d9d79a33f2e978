package ecdh

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
)

// validMessages returns one encoded message of each type from a real session.
func validMessages(t testing.TB) (req, reply, ret []byte) {
	t.Helper()
	x := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	y := [][]byte{[]byte("b"), []byte("d")}
	r, err := NewRequester(BothLearn, []byte("fixture"), x, testRand(20))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewResponder(BothLearn, []byte("fixture"), y, testRand(21))
	if err != nil {
		t.Fatal(err)
	}
	m1, err := r.Request()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := s.Answer(m1)
	if err != nil {
		t.Fatal(err)
	}
	_, m3, err := r.Finish(m2)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		dst *[]byte
		m   interface{ MarshalBinary() ([]byte, error) }
	}{{&req, m1}, {&reply, m2}, {&ret, m3}} {
		if *p.dst, err = p.m.MarshalBinary(); err != nil {
			t.Fatal(err)
		}
	}
	return req, reply, ret
}

func TestMessageLayout(t *testing.T) {
	req, reply, ret := validMessages(t)
	tests := []struct {
		name   string
		enc    []byte
		typ    byte
		counts []int
	}{
		{"Request", req, typeRequest, []int{3}},
		{"Reply", reply, typeReply, []int{3, 2}},
		{"Return", ret, typeReturn, []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.enc[0] != Version || tt.enc[1] != tt.typ || tt.enc[2] != byte(BothLearn) {
				t.Fatalf("header = % x, want %02x %02x %02x", tt.enc[:3], Version, tt.typ, BothLearn)
			}
			if sid := NewSessionID([]byte("fixture")); !bytes.Equal(tt.enc[3:35], sid[:]) {
				t.Fatalf("session id = %x, want %x", tt.enc[3:35], sid)
			}
			off := headerSize
			for _, n := range tt.counts {
				if got := binary.BigEndian.Uint32(tt.enc[off:]); int(got) != n {
					t.Fatalf("count at %d = %d, want %d", off, got, n)
				}
				off += 4 + n*PointSize
			}
			if off != len(tt.enc) {
				t.Fatalf("length = %d, want %d", len(tt.enc), off)
			}
		})
	}
}

// unmarshaler names the three decoders for table tests.
type unmarshaler struct {
	name  string
	parse func([]byte) error
	again func([]byte) ([]byte, error) // parse then marshal
}

func decoders() []unmarshaler {
	return []unmarshaler{
		{"Request", func(b []byte) error { return new(Request).UnmarshalBinary(b) }, roundTrip[Request]},
		{"Reply", func(b []byte) error { return new(Reply).UnmarshalBinary(b) }, roundTrip[Reply]},
		{"Return", func(b []byte) error { return new(Return).UnmarshalBinary(b) }, roundTrip[Return]},
	}
}

func roundTrip[T any, PT interface {
	*T
	UnmarshalBinary([]byte) error
	MarshalBinary() ([]byte, error)
}](b []byte) ([]byte, error) {
	m := PT(new(T))
	if err := m.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return m.MarshalBinary()
}

func TestDecodeRejects(t *testing.T) {
	req, reply, ret := validMessages(t)
	valid := map[string][]byte{"Request": req, "Reply": reply, "Return": ret}
	edit := func(b []byte, f func([]byte) []byte) []byte { return f(bytes.Clone(b)) }
	lastPoint := func(b []byte) []byte { return b[len(b)-PointSize:] }
	tests := []struct {
		name   string
		mutate func([]byte) []byte
		want   error
	}{
		{"empty", func([]byte) []byte { return nil }, ErrMalformed},
		{"truncated header", func(b []byte) []byte { return b[:20] }, ErrMalformed},
		{"missing count", func(b []byte) []byte { return b[:headerSize+2] }, ErrMalformed},
		{"truncated point", func(b []byte) []byte { return b[:len(b)-1] }, ErrMalformed},
		{"trailing byte", func(b []byte) []byte { return append(b, 0) }, ErrTrailingBytes},
		{"version 0", func(b []byte) []byte { b[0] = 0; return b }, ErrVersion},
		{"version 2", func(b []byte) []byte { b[0] = 2; return b }, ErrVersion},
		{"type 9", func(b []byte) []byte { b[1] = 9; return b }, ErrMessageType},
		{"mode 0", func(b []byte) []byte { b[2] = 0; return b }, ErrMode},
		{"mode 3", func(b []byte) []byte { b[2] = 3; return b }, ErrMode},
		{"count over MaxSetSize", func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[headerSize:], MaxSetSize+1)
			return b
		}, ErrSetTooLarge},
		{"count larger than data", func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[headerSize:], MaxSetSize)
			return b
		}, ErrMalformed},
		{"negative field element", func(b []byte) []byte { lastPoint(b)[0] |= 1; return b }, ErrInvalidPoint},
		{"field element above p", func(b []byte) []byte {
			copy(lastPoint(b), []byte{0xee, 31: 0x7f})
			for i := 1; i < 31; i++ {
				lastPoint(b)[i] = 0xff
			}
			return b
		}, ErrInvalidPoint},
		{"identity point", func(b []byte) []byte { clear(lastPoint(b)); return b }, ErrIdentityPoint},
	}
	for _, d := range decoders() {
		for _, tt := range tests {
			t.Run(d.name+"/"+tt.name, func(t *testing.T) {
				err := d.parse(edit(valid[d.name], tt.mutate))
				if !errors.Is(err, tt.want) {
					t.Fatalf("UnmarshalBinary = %v, want %v", err, tt.want)
				}
			})
		}
		t.Run(d.name+"/other message type", func(t *testing.T) {
			other := req
			if d.name == "Request" {
				other = ret
			}
			if err := d.parse(other); !errors.Is(err, ErrMessageType) {
				t.Fatalf("UnmarshalBinary = %v, want ErrMessageType", err)
			}
		})
	}
}

func TestInvalidPointIsLocated(t *testing.T) {
	_, reply, _ := validMessages(t)
	reply[headerSize+4+PointSize] |= 1 // Remasked[1]
	err := new(Reply).UnmarshalBinary(reply)
	var pe *PointError
	if !errors.As(err, &pe) || pe.Field != "Reply.Remasked" || pe.Index != 1 {
		t.Fatalf("UnmarshalBinary = %v, want PointError at Reply.Remasked[1]", err)
	}
}

func TestRoundTrip(t *testing.T) {
	req, reply, ret := validMessages(t)
	valid := map[string][]byte{"Request": req, "Reply": reply, "Return": ret}
	for _, d := range decoders() {
		t.Run(d.name, func(t *testing.T) {
			again, err := d.again(valid[d.name])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, valid[d.name]) {
				t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, valid[d.name])
			}
		})
	}
}

func TestMarshalRejects(t *testing.T) {
	if _, err := (&Request{Mode: 0}).MarshalBinary(); !errors.Is(err, ErrMode) {
		t.Errorf("Request with mode 0: %v, want ErrMode", err)
	}
	if _, err := (&Return{Mode: BothLearn, Remasked: make([]Point, MaxSetSize+1)}).MarshalBinary(); !errors.Is(err, ErrSetTooLarge) {
		t.Errorf("oversized Return: %v, want ErrSetTooLarge", err)
	}
}

// A header that claims MaxSetSize points but carries none must be rejected
// before the 128 MiB it claims is allocated.
func TestDecodeDoesNotTrustCounts(t *testing.T) {
	msg := make([]byte, headerSize+4)
	msg[0], msg[1], msg[2] = Version, typeRequest, byte(RequesterLearns)
	binary.BigEndian.PutUint32(msg[headerSize:], MaxSetSize)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := new(Request).UnmarshalBinary(msg)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("UnmarshalBinary = %v, want ErrMalformed", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("decoder allocated %d bytes for a %d-byte message", grew, len(msg))
	}
}
