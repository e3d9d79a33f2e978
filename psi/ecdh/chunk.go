package ecdh

import (
	"crypto/sha256"
	"encoding"
	"fmt"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/cryptobyte"

	"github.com/riskmesh/riskmesh/psi/dleq"
)

// ChunkKind is the type byte of a reconciliation chunk: which stream it
// belongs to. The values follow the single-shot messages' types 1 to 3.
type ChunkKind uint8

const (
	// KindResponderMasked carries responder items masked as H(y)^b, in the
	// responder's secret order (phase 1, responder to requester).
	KindResponderMasked ChunkKind = 4
	// KindRequesterReturn answers a KindResponderMasked chunk with its
	// points raised to a and a proof under the requester's commitment
	// (phase 1, BothLearn only).
	KindRequesterReturn ChunkKind = 5
	// KindRequesterMasked carries requester items masked as H(x)^a, in the
	// requester's secret order (phase 2, requester to responder).
	KindRequesterMasked ChunkKind = 6
	// KindResponderReply answers a KindRequesterMasked chunk with its points
	// raised to b and a proof under the responder's commitment (phase 2).
	KindResponderReply ChunkKind = 7
)

func (k ChunkKind) valid() bool { return k >= KindResponderMasked && k <= KindResponderReply }

// answer reports whether chunks of kind k answer another chunk and so
// carry a proof.
func (k ChunkKind) answer() bool { return k == KindRequesterReturn || k == KindResponderReply }

func (k ChunkKind) String() string {
	switch k {
	case KindResponderMasked:
		return "responder-masked"
	case KindRequesterReturn:
		return "requester-return"
	case KindRequesterMasked:
		return "requester-masked"
	case KindResponderReply:
		return "responder-reply"
	case KindRequesterLabels:
		return "requester-labels"
	case KindResponderLabels:
		return "responder-labels"
	}
	return fmt.Sprintf("ChunkKind(%d)", uint8(k))
}

// MaxChunkSize bounds the points of one chunk (2 MiB of points), and
// DefaultChunkSize is what a zero ReconParams.ChunkSize means.
const (
	MaxChunkSize     = 1 << 16
	DefaultChunkSize = 1 << 12
)

// chunkHeaderSize is version, type, mode, session id, sequence number and count.
const chunkHeaderSize = headerSize + 4 + 4

// Chunk is one message of a reconciliation stream (docs/protocol/ecdh.md).
// Seq numbers the chunks of a stream from 0; an answer has the Seq and the
// length of the chunk it answers. Proof is set on answers only.
type Chunk struct {
	Kind    ChunkKind
	Mode    Mode
	Session SessionID
	Seq     uint32
	Points  []Point
	Proof   dleq.Proof

	// decoded holds Points decoded by UnmarshalBinary, which has to decode
	// them to validate them anyway, so that Answer, Accept and VerifyAnswer
	// do not decode them again (a decoding costs about as much as an
	// encoding: a few percent of a reconciliation's CPU). decodedOf is the
	// digest of the Points they decode: points changed or replaced since
	// are decoded afresh.
	decoded   []edwards25519.Point
	decodedOf [sha256.Size]byte
}

// pointsDigest identifies a vector of points for Chunk.decoded.
func pointsDigest(pts []Point) [sha256.Size]byte {
	h := sha256.New()
	for i := range pts {
		h.Write(pts[i][:])
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}

// elements returns c's points decoded: those UnmarshalBinary kept if
// Points are still the ones it decoded, otherwise decoded now (so a chunk
// built in memory has its invalid and identity points rejected too).
func (c *Chunk) elements() ([]edwards25519.Point, error) {
	if len(c.decoded) > 0 && len(c.decoded) == len(c.Points) && pointsDigest(c.Points) == c.decodedOf {
		return c.decoded, nil
	}
	elems := make([]edwards25519.Point, len(c.Points))
	if err := decodePoints(elems, c.Points, "Chunk.Points"); err != nil {
		return nil, err
	}
	return elems, nil
}

var (
	_ encoding.BinaryMarshaler   = (*Chunk)(nil)
	_ encoding.BinaryUnmarshaler = (*Chunk)(nil)
)

// MarshalBinary returns the canonical encoding: version(1) type(1)=kind
// mode(1) session(32) seq(4) count(4) count*point(32), then proof(64) for
// the answer kinds (KindRequesterReturn, KindResponderReply).
func (c *Chunk) MarshalBinary() ([]byte, error) {
	switch {
	case !c.Kind.valid():
		return nil, ErrMessageType
	case !c.Mode.valid():
		return nil, ErrMode
	case len(c.Points) == 0 || len(c.Points) > MaxChunkSize:
		return nil, fmt.Errorf("%w: chunk of %d points", ErrChunkSize, len(c.Points))
	}
	size := chunkHeaderSize + len(c.Points)*PointSize
	if c.Kind.answer() {
		size += dleq.ProofSize
	}
	b := cryptobyte.NewFixedBuilder(make([]byte, 0, size))
	addHeader(b, uint8(c.Kind), c.Mode, &c.Session)
	b.AddUint32(c.Seq)
	b.AddUint32(uint32(len(c.Points)))
	for i := range c.Points {
		b.AddBytes(c.Points[i][:])
	}
	if c.Kind.answer() {
		b.AddBytes(c.Proof[:])
	}
	return b.Bytes()
}

// UnmarshalBinary decodes a chunk, checking the count against
// MaxChunkSize and the remaining length before allocating, and rejecting
// invalid or identity points, unknown kinds and modes and trailing bytes.
// It keeps the points decoded (160 bytes a point) for the Reconciler and
// VerifyAnswer. It does not check the proof, which needs the chunk
// answered. On error c is unchanged.
func (c *Chunk) UnmarshalBinary(data []byte) error {
	var (
		d                 Chunk
		version, kind, md uint8
		n                 uint32
	)
	s := cryptobyte.String(data)
	if !readHeader(&s, &version, &kind, &md, &d.Session) ||
		!s.ReadUint32(&d.Seq) || !s.ReadUint32(&n) {
		return ErrMalformed
	}
	d.Kind, d.Mode = ChunkKind(kind), Mode(md)
	switch {
	case version != Version:
		return ErrVersion
	case !d.Kind.valid():
		return ErrMessageType
	case !d.Mode.valid():
		return ErrMode
	case n == 0 || n > MaxChunkSize:
		return fmt.Errorf("%w: chunk of %d points", ErrChunkSize, n)
	}
	want := uint64(n) * PointSize
	if d.Kind.answer() {
		want += dleq.ProofSize
	}
	if uint64(len(s)) < want {
		return ErrMalformed
	}
	if uint64(len(s)) > want {
		return ErrTrailingBytes
	}
	d.Points = make([]Point, n)
	for i := range d.Points {
		s.CopyBytes(d.Points[i][:])
	}
	if d.Kind.answer() {
		s.CopyBytes(d.Proof[:])
	}
	d.decoded = make([]edwards25519.Point, n)
	if err := decodePoints(d.decoded, d.Points, "Chunk.Points"); err != nil {
		return err
	}
	d.decodedOf = pointsDigest(d.Points)
	*c = d
	return nil
}
