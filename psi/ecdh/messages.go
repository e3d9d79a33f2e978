package ecdh

import (
	"encoding"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/cryptobyte"
)

// Version is the wire-format version written first in every message.
const Version = 1

// MaxSetSize bounds every set and every point vector in a message. Decoders
// check it before allocating, so a message of b bytes never costs more than
// about b bytes of memory.
const MaxSetSize = 1 << 22

// Message types, the second byte of every message.
const (
	typeRequest = 1
	typeReply   = 2
	typeReturn  = 3
)

// headerSize is version, type, mode and session id.
const headerSize = 3 + len(SessionID{})

// addHeader writes the header every message of this package starts with:
// version, type, mode and session id (headerSize bytes).
func addHeader(b *cryptobyte.Builder, typ uint8, mode Mode, sid *SessionID) {
	b.AddUint8(Version)
	b.AddUint8(typ)
	b.AddUint8(uint8(mode))
	b.AddBytes(sid[:])
}

// readHeader reads what addHeader writes, reporting whether the bytes were
// there; the caller checks the values, after reading the rest of its
// fixed fields, so that a short message is ErrMalformed whatever it holds.
func readHeader(s *cryptobyte.String, version, typ, mode *uint8, sid *SessionID) bool {
	return s.ReadUint8(version) && s.ReadUint8(typ) && s.ReadUint8(mode) && s.CopyBytes(sid[:])
}

// Request is message 1, requester to responder: the requester's items masked
// as H(x_i)^a, in the requester's order so it can map results back.
type Request struct {
	Mode    Mode
	Session SessionID
	Masked  []Point
}

// Reply is message 2, responder to requester.
type Reply struct {
	Mode    Mode
	Session SessionID
	// Remasked holds H(x_i)^(ab), in the order of Request.Masked.
	Remasked []Point
	// Masked holds the responder's items masked as H(y_j)^b, in a random order.
	Masked []Point
}

// Return is message 3, requester to responder, sent in BothLearn only: the
// responder's masked items raised to a, H(y_j)^(ba), in the order of
// Reply.Masked.
type Return struct {
	Mode     Mode
	Session  SessionID
	Remasked []Point
}

var (
	_ encoding.BinaryMarshaler   = (*Request)(nil)
	_ encoding.BinaryUnmarshaler = (*Request)(nil)
	_ encoding.BinaryMarshaler   = (*Reply)(nil)
	_ encoding.BinaryUnmarshaler = (*Reply)(nil)
	_ encoding.BinaryMarshaler   = (*Return)(nil)
	_ encoding.BinaryUnmarshaler = (*Return)(nil)
)

// MarshalBinary returns the canonical encoding:
// version(1) type(1)=1 mode(1) session(32) count(4) count*point(32).
func (m *Request) MarshalBinary() ([]byte, error) {
	return marshal(typeRequest, m.Mode, &m.Session, m.Masked)
}

// UnmarshalBinary decodes a Request, rejecting invalid or identity points,
// oversized counts and trailing bytes. On error m is unchanged.
func (m *Request) UnmarshalBinary(data []byte) error {
	mode, sid, vecs, err := unmarshal(data, typeRequest, "Request.Masked")
	if err != nil {
		return err
	}
	*m = Request{Mode: mode, Session: sid, Masked: vecs[0]}
	return nil
}

// MarshalBinary returns the canonical encoding: version(1) type(1)=2 mode(1)
// session(32) count(4) count*point(32) count(4) count*point(32), the first
// vector being Remasked and the second Masked.
func (m *Reply) MarshalBinary() ([]byte, error) {
	return marshal(typeReply, m.Mode, &m.Session, m.Remasked, m.Masked)
}

// UnmarshalBinary decodes a Reply, rejecting invalid or identity points,
// oversized counts and trailing bytes. On error m is unchanged.
func (m *Reply) UnmarshalBinary(data []byte) error {
	mode, sid, vecs, err := unmarshal(data, typeReply, "Reply.Remasked", "Reply.Masked")
	if err != nil {
		return err
	}
	*m = Reply{Mode: mode, Session: sid, Remasked: vecs[0], Masked: vecs[1]}
	return nil
}

// MarshalBinary returns the canonical encoding:
// version(1) type(1)=3 mode(1) session(32) count(4) count*point(32).
func (m *Return) MarshalBinary() ([]byte, error) {
	return marshal(typeReturn, m.Mode, &m.Session, m.Remasked)
}

// UnmarshalBinary decodes a Return, rejecting invalid or identity points,
// oversized counts and trailing bytes. On error m is unchanged.
func (m *Return) UnmarshalBinary(data []byte) error {
	mode, sid, vecs, err := unmarshal(data, typeReturn, "Return.Remasked")
	if err != nil {
		return err
	}
	*m = Return{Mode: mode, Session: sid, Remasked: vecs[0]}
	return nil
}

func marshal(typ uint8, mode Mode, sid *SessionID, vecs ...[]Point) ([]byte, error) {
	if !mode.valid() {
		return nil, ErrMode
	}
	size := headerSize
	for _, v := range vecs {
		if len(v) > MaxSetSize {
			return nil, ErrSetTooLarge
		}
		size += 4 + len(v)*PointSize
	}
	b := cryptobyte.NewFixedBuilder(make([]byte, 0, size))
	addHeader(b, typ, mode, sid)
	for _, v := range vecs {
		b.AddUint32(uint32(len(v)))
		for i := range v {
			b.AddBytes(v[i][:])
		}
	}
	return b.Bytes()
}

// unmarshal parses the header and one point vector per name, then validates
// every point on all cores. names label the vectors in PointErrors.
func unmarshal(data []byte, typ uint8, names ...string) (Mode, SessionID, [][]Point, error) {
	var (
		sid               SessionID
		version, t, modeB uint8
	)
	s := cryptobyte.String(data)
	if !readHeader(&s, &version, &t, &modeB, &sid) {
		return 0, sid, nil, ErrMalformed
	}
	if version != Version {
		return 0, sid, nil, ErrVersion
	}
	if t != typ {
		return 0, sid, nil, ErrMessageType
	}
	mode := Mode(modeB)
	if !mode.valid() {
		return 0, sid, nil, ErrMode
	}
	vecs := make([][]Point, len(names))
	for k := range names {
		var n uint32
		if !s.ReadUint32(&n) {
			return 0, sid, nil, ErrMalformed
		}
		if n > MaxSetSize {
			return 0, sid, nil, ErrSetTooLarge
		}
		// Check the bytes are there before allocating for them.
		if uint64(len(s)) < uint64(n)*PointSize {
			return 0, sid, nil, ErrMalformed
		}
		v := make([]Point, n)
		for i := range v {
			s.CopyBytes(v[i][:])
		}
		vecs[k] = v
	}
	if !s.Empty() {
		return 0, sid, nil, ErrTrailingBytes
	}
	for k, v := range vecs {
		if err := validatePoints(v, names[k]); err != nil {
			return 0, sid, nil, err
		}
	}
	return mode, sid, vecs, nil
}

// validatePoints decodes every point once; it is the costly part of parsing.
func validatePoints(v []Point, field string) error {
	return decodePoints(nil, v, field)
}

// decodePoints decodes every point on all cores, into dst if it is not nil.
func decodePoints(dst []edwards25519.Point, v []Point, field string) error {
	return forChunks(len(v), func(lo, hi int) error {
		var local edwards25519.Point
		for i := lo; i < hi; i++ {
			e := &local
			if dst != nil {
				e = &dst[i]
			}
			if err := decodePoint(e, &v[i]); err != nil {
				return &PointError{Field: field, Index: i, Err: err}
			}
		}
		return nil
	})
}
