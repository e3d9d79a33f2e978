package transcript

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/labelhash"
	"github.com/riskmesh/riskmesh/psi/ecdh"
)

// Reconciliation transcripts (docs/protocol/transcript.md, "Reconciliation"):
// a streamed ECDH-PSI session between two nodes is recorded as a header
// both parties sign, carrying both key commitments, and one signed record
// per chunk, carrying the chunk's hash but not its points. An auditor
// decides a dispute over one answer from the transcript and the two chunk
// bodies the claimant kept, without any identifier.

// Labels of the reconciliation digests.
const (
	LabelReconHeader = "riskmesh/v1/transcript/recon-header"
	LabelReconChunk  = "riskmesh/v1/transcript/recon-chunk"
	LabelReconRecord = "riskmesh/v1/transcript/recon-record"
)

// ReconHeaderVersion is the first byte of an encoded ReconHeader.
const ReconHeaderVersion = 1

// MaxReconHeaderSize bounds an encoded ReconHeader.
const MaxReconHeaderSize = 2 + 4 + MaxSuiteLen + MaxCategoryLen + 2*MaxPartyLen + 8 + 8 + 3*4 + 2*ecdh.PointSize

// ReconHeader says who reconciles with whom, how, and under which keys.
// Both parties sign its digest before any chunk is sent.
type ReconHeader struct {
	// Protocol is ProtocolECDHRequesterLearns or ProtocolECDHBothLearn.
	Protocol Protocol
	// Suite is SuiteRistretto255SHA512, the only suite psi/ecdh implements.
	Suite     string
	Category  string
	Period    uint64
	Requester string
	Responder string
	// Sequence is unique per period and (requester, responder) pair.
	Sequence uint64
	// RequesterSize and ResponderSize are n and m, 1 to ecdh.MaxReconItems:
	// each side learns the other's size from the header.
	RequesterSize, ResponderSize uint32
	// ChunkSize is the number of points per chunk, 1 to ecdh.MaxChunkSize.
	ChunkSize uint32
	// RequesterKey and ResponderKey are the commitments a·G and b·G every
	// proof of that side is checked against.
	RequesterKey, ResponderKey ecdh.Point
}

// Validate checks every field against the format's rules.
func (h *ReconHeader) Validate() error {
	if err := validateParties(h.Category, h.Requester, h.Responder); err != nil {
		return err
	}
	switch {
	case !h.Protocol.IsECDH():
		return fmt.Errorf("%w: %v is not a reconciliation", ErrProtocol, h.Protocol)
	case h.Suite != SuiteRistretto255SHA512:
		return ErrSuite
	case h.RequesterSize == 0 || h.RequesterSize > ecdh.MaxReconItems ||
		h.ResponderSize == 0 || h.ResponderSize > ecdh.MaxReconItems:
		return fmt.Errorf("%w: sizes %d and %d", ErrCount, h.RequesterSize, h.ResponderSize)
	case h.ChunkSize == 0 || h.ChunkSize > ecdh.MaxChunkSize:
		return fmt.Errorf("%w: chunk size %d", ErrCount, h.ChunkSize)
	}
	return nil
}

// Mode is the psi/ecdh mode of the header's protocol.
func (h *ReconHeader) Mode() ecdh.Mode {
	if h.Protocol == ProtocolECDHBothLearn {
		return ecdh.BothLearn
	}
	return ecdh.RequesterLearns
}

// MarshalBinary returns the canonical encoding of a valid header:
//
//	u8 version=1 | u8 protocol | str8 suite | str8 category | u64 period |
//	str8 requester | str8 responder | u64 sequence | u32 requester size |
//	u32 responder size | u32 chunk size | [32] requester key | [32] responder key
//
// str8 is one length byte then the bytes; integers are big-endian.
func (h *ReconHeader) MarshalBinary() ([]byte, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, MaxReconHeaderSize))
	b.AddUint8(ReconHeaderVersion)
	b.AddUint8(uint8(h.Protocol))
	addString8(b, h.Suite)
	addString8(b, h.Category)
	b.AddUint64(h.Period)
	addString8(b, h.Requester)
	addString8(b, h.Responder)
	b.AddUint64(h.Sequence)
	b.AddUint32(h.RequesterSize)
	b.AddUint32(h.ResponderSize)
	b.AddUint32(h.ChunkSize)
	b.AddBytes(h.RequesterKey[:])
	b.AddBytes(h.ResponderKey[:])
	return b.Bytes()
}

// ParseReconHeader parses a header encoded by MarshalBinary, rejecting
// unknown versions, invalid fields and trailing bytes. It does not check
// the keys are valid points (psi/ecdh does when it uses them).
func ParseReconHeader(data []byte) (*ReconHeader, error) {
	if len(data) > MaxReconHeaderSize {
		return nil, fmt.Errorf("%w: header of %d bytes", ErrMalformed, len(data))
	}
	s := cryptobyte.String(data)
	var (
		h                                     ReconHeader
		version, protocol                     uint8
		suite, category, requester, responder cryptobyte.String
	)
	if !s.ReadUint8(&version) || !s.ReadUint8(&protocol) ||
		!s.ReadUint8LengthPrefixed(&suite) || !s.ReadUint8LengthPrefixed(&category) ||
		!s.ReadUint64(&h.Period) ||
		!s.ReadUint8LengthPrefixed(&requester) || !s.ReadUint8LengthPrefixed(&responder) ||
		!s.ReadUint64(&h.Sequence) ||
		!s.ReadUint32(&h.RequesterSize) || !s.ReadUint32(&h.ResponderSize) || !s.ReadUint32(&h.ChunkSize) ||
		!s.CopyBytes(h.RequesterKey[:]) || !s.CopyBytes(h.ResponderKey[:]) {
		return nil, ErrMalformed
	}
	if version != ReconHeaderVersion {
		return nil, fmt.Errorf("%w: reconciliation header version %d", ErrVersion, version)
	}
	if !s.Empty() {
		return nil, ErrTrailingData
	}
	h.Protocol = Protocol(protocol)
	h.Suite, h.Category = string(suite), string(category)
	h.Requester, h.Responder = string(requester), string(responder)
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return &h, nil
}

// SessionContext is the psi/ecdh session context: the header's encoding
// with both keys zero, so that both sides can derive the session id before
// they draw their secrets and commit to them.
func (h *ReconHeader) SessionContext() ([]byte, error) {
	c := *h
	c.RequesterKey, c.ResponderKey = ecdh.Point{}, ecdh.Point{}
	return c.MarshalBinary()
}

// Params returns the psi/ecdh parameters the header fixes.
func (h *ReconHeader) Params() (ecdh.ReconParams, error) {
	ctx, err := h.SessionContext()
	if err != nil {
		return ecdh.ReconParams{}, err
	}
	return ecdh.ReconParams{Mode: h.Mode(), Context: ctx, RequesterSize: int(h.RequesterSize),
		ResponderSize: int(h.ResponderSize), ChunkSize: int(h.ChunkSize)}, nil
}

// Digest is what both parties sign before the first chunk:
// SHA-256(label || E(header)).
func (h *ReconHeader) Digest() ([DigestSize]byte, error) {
	enc, err := h.MarshalBinary()
	if err != nil {
		return [DigestSize]byte{}, err
	}
	return labelhash.Sum(LabelReconHeader, enc), nil
}

// ChunkHash is the hash of one encoded psi/ecdh chunk, which a record
// carries instead of the points.
func ChunkHash(chunk []byte) [DigestSize]byte {
	return labelhash.Sum(LabelReconChunk, chunk)
}

// ChunkRecord is one chunk as the transcript keeps it: its stream, position
// and length, its hash, the hash of the chunk it answers (zero for a
// party's own masked items), and its sender's signature over RecordDigest.
type ChunkRecord struct {
	Kind      ecdh.ChunkKind
	Seq       uint32
	Count     uint32
	Hash      [DigestSize]byte
	Answers   [DigestSize]byte
	Signature []byte
}

// recordSize is the encoded size of a record without its signature.
const recordSize = 1 + 4 + 4 + 2*DigestSize

// RecordDigest is what the sender of a chunk signs:
//
//	SHA-256(label || headerDigest || u8 kind || u32 seq || u32 count || hash || answers)
//
// Chaining the header digest binds the record to the session; the answered
// chunk's hash binds an answer to exactly what it answers, so the answer
// cannot be presented as the answer to another chunk, and seq pins its
// place in the stream.
func RecordDigest(headerDigest [DigestSize]byte, r *ChunkRecord) [DigestSize]byte {
	var fixed [recordSize]byte
	fixed[0] = byte(r.Kind)
	binary.BigEndian.PutUint32(fixed[1:], r.Seq)
	binary.BigEndian.PutUint32(fixed[5:], r.Count)
	copy(fixed[9:], r.Hash[:])
	copy(fixed[9+DigestSize:], r.Answers[:])
	return labelhash.Sum(LabelReconRecord, headerDigest[:], fixed[:])
}

// Sender is the party that sends chunks of the record's kind: the
// responder its masked items, replies and labels, the requester its masked
// items, returns and labels.
func (h *ReconHeader) Sender(kind ecdh.ChunkKind) (party string, key ecdh.Point) {
	if kind == ecdh.KindResponderMasked || kind == ecdh.KindResponderReply || kind == ecdh.KindResponderLabels {
		return h.Responder, h.ResponderKey
	}
	return h.Requester, h.RequesterKey
}

// SignRecord signs r's digest under the header's digest and sets its
// signature.
func SignRecord(sign ecsig.Sign, headerDigest [DigestSize]byte, r *ChunkRecord) error {
	sig, err := signDigest(sign, RecordDigest(headerDigest, r))
	if err != nil {
		return err
	}
	r.Signature = sig
	return nil
}

// VerifyRecord checks r's signature against its sender's PKIX DER public
// keys valid in the header's period.
func VerifyRecord(senderKeys [][]byte, headerDigest [DigestSize]byte, r *ChunkRecord) error {
	d := RecordDigest(headerDigest, r)
	if err := ecsig.VerifyAny(senderKeys, d[:], r.Signature); err != nil {
		return fmt.Errorf("%w: %v chunk %d: %w", ErrRecordSignature, r.Kind, r.Seq, err)
	}
	return nil
}

// ReconTranscript is the record of a whole reconciliation: the header, both
// parties' signatures over its digest, and the records in the order the
// chunks were sent within each stream.
type ReconTranscript struct {
	Header             ReconHeader
	RequesterSignature []byte
	ResponderSignature []byte
	Records            []ChunkRecord
}

// matchingRecords is how many records the matching phases make: every
// stream fully sent.
func (h *ReconHeader) matchingRecords() int {
	c := int(h.ChunkSize)
	n, m := (int(h.RequesterSize)+c-1)/c, (int(h.ResponderSize)+c-1)/c
	if h.Protocol == ProtocolECDHBothLearn {
		return 2*n + 2*m
	}
	return 2*n + m
}

// maxRecords is how many records a header allows: the matching phases and,
// in both-learn, a label exchange over at most min(n, m) matches.
func (h *ReconHeader) maxRecords() int {
	if h.Protocol != ProtocolECDHBothLearn {
		return h.matchingRecords()
	}
	return h.matchingRecords() + 2*h.labelChunks()
}

// labelChunks bounds each side's label chunks: one label per match.
func (h *ReconHeader) labelChunks() int {
	c := int(h.ChunkSize)
	return (int(min(h.RequesterSize, h.ResponderSize)) + c - 1) / c
}

// isLabels reports whether records of kind k carry a label exchange.
func isLabels(k ecdh.ChunkKind) bool {
	return k == ecdh.KindRequesterLabels || k == ecdh.KindResponderLabels
}

// reconMagic starts an encoded ReconTranscript.
const reconMagic = "RMRC"

// MarshalBinary returns the canonical encoding:
//
//	"RMRC" | u16-prefixed header | str8 requester signature |
//	str8 responder signature | u32 count |
//	count x (u8 kind | u32 seq | u32 count | [32] hash | [32] answers | str8 signature)
func (t *ReconTranscript) MarshalBinary() ([]byte, error) {
	hdr, err := t.Header.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if len(t.Records) > t.Header.maxRecords() {
		return nil, fmt.Errorf("%w: %d records", ErrCount, len(t.Records))
	}
	for _, sig := range [][]byte{t.RequesterSignature, t.ResponderSignature} {
		if len(sig) > ecsig.MaxSignatureSize {
			return nil, ErrSignatureSize
		}
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, len(hdr)+256+len(t.Records)*(recordSize+1+ecsig.MaxSignatureSize)))
	b.AddBytes([]byte(reconMagic))
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(hdr) })
	addBytes8(b, t.RequesterSignature)
	addBytes8(b, t.ResponderSignature)
	b.AddUint32(uint32(len(t.Records)))
	for i := range t.Records {
		r := &t.Records[i]
		if len(r.Signature) > ecsig.MaxSignatureSize {
			return nil, ErrSignatureSize
		}
		b.AddUint8(uint8(r.Kind))
		b.AddUint32(r.Seq)
		b.AddUint32(r.Count)
		b.AddBytes(r.Hash[:])
		b.AddBytes(r.Answers[:])
		addBytes8(b, r.Signature)
	}
	return b.Bytes()
}

func addBytes8(b *cryptobyte.Builder, v []byte) {
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(v) })
}

// ParseReconTranscript parses an encoded ReconTranscript. The record count
// is checked against what the header allows, and against the bytes left,
// before records are allocated.
func ParseReconTranscript(data []byte) (*ReconTranscript, error) {
	s := cryptobyte.String(data)
	var (
		magic  []byte
		hdr    cryptobyte.String
		rs, ss cryptobyte.String
		count  uint32
	)
	if !s.ReadBytes(&magic, len(reconMagic)) {
		return nil, ErrMalformed
	}
	if string(magic) != reconMagic {
		return nil, ErrMagic
	}
	if !s.ReadUint16LengthPrefixed(&hdr) || !s.ReadUint8LengthPrefixed(&rs) || !s.ReadUint8LengthPrefixed(&ss) || !s.ReadUint32(&count) {
		return nil, ErrMalformed
	}
	h, err := ParseReconHeader(hdr)
	if err != nil {
		return nil, err
	}
	if len(rs) > ecsig.MaxSignatureSize || len(ss) > ecsig.MaxSignatureSize {
		return nil, ErrSignatureSize
	}
	if int64(count) > int64(h.maxRecords()) || uint64(len(s)) < uint64(count)*(recordSize+1) {
		return nil, fmt.Errorf("%w: %d records", ErrCount, count)
	}
	t := &ReconTranscript{Header: *h, RequesterSignature: []byte(rs), ResponderSignature: []byte(ss),
		Records: make([]ChunkRecord, count)}
	for i := range t.Records {
		r := &t.Records[i]
		var kind uint8
		var sig cryptobyte.String
		if !s.ReadUint8(&kind) || !s.ReadUint32(&r.Seq) || !s.ReadUint32(&r.Count) ||
			!s.CopyBytes(r.Hash[:]) || !s.CopyBytes(r.Answers[:]) || !s.ReadUint8LengthPrefixed(&sig) {
			return nil, ErrMalformed
		}
		if len(sig) > ecsig.MaxSignatureSize {
			return nil, ErrSignatureSize
		}
		r.Kind, r.Signature = ecdh.ChunkKind(kind), []byte(sig)
	}
	if !s.Empty() {
		return nil, ErrTrailingData
	}
	return t, nil
}

// VerifyHeader checks both parties' signatures over the header digest and
// returns the digest.
func (t *ReconTranscript) VerifyHeader(requesterKeys, responderKeys [][]byte) ([DigestSize]byte, error) {
	d, err := t.Header.Digest()
	if err != nil {
		return d, err
	}
	if err := VerifyRequest(requesterKeys, d, t.RequesterSignature); err != nil {
		return d, err
	}
	if err := VerifyResponse(responderKeys, d, t.ResponderSignature); err != nil {
		return d, err
	}
	return d, nil
}

// Verify checks the header signatures and every record: its kind belongs
// to the header's mode, each stream's records come in sequence from 0 with
// the length their position requires, every answer names the hash of the
// chunk of the same position it answers, and each record is signed by its
// sender. It returns the first fault; Complete says whether every stream
// was sent to the end.
func (t *ReconTranscript) Verify(requesterKeys, responderKeys [][]byte) error {
	hd, err := t.VerifyHeader(requesterKeys, responderKeys)
	if err != nil {
		return err
	}
	next := map[ecdh.ChunkKind]uint32{}
	hashes := map[ecdh.ChunkKind][][DigestSize]byte{}
	matching := 0
	for i := range t.Records {
		r := &t.Records[i]
		size, answered, ok := t.Header.stream(r.Kind)
		if !ok {
			return fmt.Errorf("%w: record %d: %v in %v", ErrRecordOrder, i, r.Kind, t.Header.Protocol)
		}
		if r.Seq != next[r.Kind] {
			return fmt.Errorf("%w: record %d: %v chunk %d, expected %d", ErrRecordOrder, i, r.Kind, r.Seq, next[r.Kind])
		}
		c := int(t.Header.ChunkSize)
		lo := int(r.Seq) * c
		// A label chunk holds up to a chunk of labels, one per match: its
		// length depends on the matches, which no header fixes.
		labels := isLabels(r.Kind)
		switch {
		case labels && matching != t.Header.matchingRecords():
			return fmt.Errorf("%w: record %d: %v before the matching ended", ErrRecordOrder, i, r.Kind)
		case labels && (lo >= size || r.Count == 0 || int(r.Count) > min(c, size-lo)):
			return fmt.Errorf("%w: record %d: %v chunk %d of %d labels", ErrRecordOrder, i, r.Kind, r.Seq, r.Count)
		case !labels && (lo >= size || int(r.Count) != min(c, size-lo)):
			return fmt.Errorf("%w: record %d: %v chunk %d of %d points", ErrRecordOrder, i, r.Kind, r.Seq, r.Count)
		}
		if !labels {
			matching++
		}
		if answered != 0 {
			prev := hashes[answered]
			if int(r.Seq) >= len(prev) || prev[r.Seq] != r.Answers {
				return fmt.Errorf("%w: record %d: %v chunk %d answers no recorded chunk", ErrRecordOrder, i, r.Kind, r.Seq)
			}
		} else if r.Answers != ([DigestSize]byte{}) {
			return fmt.Errorf("%w: record %d: masked chunk with an answered hash", ErrRecordOrder, i)
		}
		keys := requesterKeys
		if sender, _ := t.Header.Sender(r.Kind); sender == t.Header.Responder {
			keys = responderKeys
		}
		if err := VerifyRecord(keys, hd, r); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		next[r.Kind]++
		hashes[r.Kind] = append(hashes[r.Kind], r.Hash)
	}
	return nil
}

// stream returns, for a chunk kind, the size of the set its stream carries
// and the kind it answers (0 for masked items), or false if the header's
// mode has no such stream.
func (h *ReconHeader) stream(kind ecdh.ChunkKind) (size int, answers ecdh.ChunkKind, ok bool) {
	switch kind {
	case ecdh.KindResponderMasked:
		return int(h.ResponderSize), 0, true
	case ecdh.KindRequesterReturn:
		return int(h.ResponderSize), ecdh.KindResponderMasked, h.Protocol == ProtocolECDHBothLearn
	case ecdh.KindRequesterMasked:
		return int(h.RequesterSize), 0, true
	case ecdh.KindResponderReply:
		return int(h.RequesterSize), ecdh.KindRequesterMasked, true
	case ecdh.KindRequesterLabels:
		return int(min(h.RequesterSize, h.ResponderSize)), 0, h.Protocol == ProtocolECDHBothLearn
	case ecdh.KindResponderLabels:
		return int(min(h.RequesterSize, h.ResponderSize)), ecdh.KindRequesterLabels, h.Protocol == ProtocolECDHBothLearn
	}
	return 0, 0, false
}

// Complete reports whether a transcript that passed Verify holds every
// record the matching phases call for, so that neither side withheld the
// end of a stream. A label exchange, which follows the matching by consent,
// is not part of it.
func (t *ReconTranscript) Complete() bool {
	n := 0
	for i := range t.Records {
		if !isLabels(t.Records[i].Kind) {
			n++
		}
	}
	return n == t.Header.matchingRecords()
}
