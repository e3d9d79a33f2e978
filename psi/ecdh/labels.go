package ecdh

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// Labels shared by consent (docs/protocol/ecdh.md, "Labels, by consent").
// After both matching phases of a BothLearn reconciliation each side holds,
// for every item of its own in the intersection, the double-masked point
// H(x)^ab the other side holds for the same item. Each side may then send a label for
// each of its matched items, keyed by a hash of that point, and nothing for
// its other items: the receiver finds the label of each of its own matched
// items by the key and refuses any key that is not one of its matches.
//
// Only BothLearn has a label exchange. In RequesterLearns the responder
// does not know which of its items matched, so it could only send labels
// for all of them, and keying them by the match point would not hide the
// others: the requester raised every responder item to H(y)^ba in phase 1.

// Label-chunk kinds: the type byte of a LabelChunk and the record kind of
// its transcript record. They follow the chunk kinds.
const (
	// KindRequesterLabels carries the requester's labels; it goes first.
	KindRequesterLabels ChunkKind = 8
	// KindResponderLabels answers the requester's label chunk of the same
	// position with the responder's.
	KindResponderLabels ChunkKind = 9
)

// LabelSize is the size of one label. Labels are opaque to this package; a
// node sends a psi/catalog Label, which has this size.
const LabelSize = 16

// labelLabelKey separates the label keys from the match keys, so that a
// label key reveals nothing more than the match key it comes from.
const labelLabelKey = "riskmesh/v1/ecdh-psi/label-key"

// LabelKeySize is 128 bits, like a match key.
const LabelKeySize = 16

// LabelKey names one matched item in a label exchange: a hash of the
// double-masked point both sides hold for it, bound to the session.
type LabelKey [LabelKeySize]byte

func labelKey(sid *SessionID, k *matchKey) LabelKey {
	h := sha256.New()
	h.Write([]byte(labelLabelKey))
	h.Write(sid[:])
	h.Write(k[:])
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return LabelKey(sum[:LabelKeySize])
}

// Match is one of this side's items in the intersection and its label key.
type Match struct {
	// Index is the item's index in this side's Items.
	Index int
	Key   LabelKey
}

// MatchKeys returns this side's matches in c, the responder-reply chunk
// this side just accepted (requester) or just sent (responder, BothLearn),
// each with its label key. A node collects them as the chunks pass: a
// Checkpoint does not keep them.
func (r *Reconciler) MatchKeys(c *Chunk) ([]Match, error) {
	switch {
	case c == nil || c.Kind != KindResponderReply:
		return nil, ErrChunkKind
	case !r.sorted:
		return nil, fmt.Errorf("%w: set not complete", ErrOutOfOrder)
	case r.role == RoleRequester && int(c.Seq) >= r.acceptedN:
		return nil, fmt.Errorf("%w: reply %d not accepted", ErrOutOfOrder, c.Seq)
	case r.role == RoleResponder && int(c.Seq) >= r.answeredN:
		return nil, fmt.Errorf("%w: reply %d not sent", ErrOutOfOrder, c.Seq)
	}
	lo, hi := r.span(r.params.RequesterSize, c.Seq)
	if len(c.Points) != hi-lo {
		return nil, fmt.Errorf("%w: reply %d has %d points, want %d", ErrChunkSize, c.Seq, len(c.Points), hi-lo)
	}
	var out []Match
	for i, k := range keys(&r.session, c.Points) {
		j, ok := slices.BinarySearchFunc(r.set, k, func(e setEntry, k matchKey) int { return bytes.Compare(e.key[:], k[:]) })
		if !ok {
			continue
		}
		index := int(r.set[j].index &^ matchedFlag)
		if r.role == RoleRequester {
			index = int(r.perm[lo+i])
		}
		out = append(out, Match{Index: index, Key: labelKey(&r.session, &k)})
	}
	return out, nil
}

// LabelEntry is one label in a LabelChunk.
type LabelEntry struct {
	Key   LabelKey
	Label [LabelSize]byte
}

// labelChunkHeaderSize is version, type, mode, session id, sequence number,
// total and count.
const labelChunkHeaderSize = headerSize + 3*4

// labelEntrySize is the encoding of one LabelEntry: key then label.
const labelEntrySize = LabelKeySize + LabelSize

// LabelChunk is one message of a label exchange. Seq numbers a side's label
// chunks from 0; Total is how many labels the sender sends in all, one per
// item of its in the intersection; Entries are in ascending key order
// across the sender's whole stream.
type LabelChunk struct {
	Kind    ChunkKind
	Mode    Mode
	Session SessionID
	Seq     uint32
	Total   uint32
	Entries []LabelEntry
}

var (
	_ encoding.BinaryMarshaler   = (*LabelChunk)(nil)
	_ encoding.BinaryUnmarshaler = (*LabelChunk)(nil)
)

func labelKind(k ChunkKind) bool { return k == KindRequesterLabels || k == KindResponderLabels }

// MarshalBinary returns the canonical encoding: version(1) type(1)=kind
// mode(1) session(32) seq(4) total(4) count(4) count*(key(16) label(16)),
// keys strictly ascending.
func (c *LabelChunk) MarshalBinary() ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	b := cryptobyte.NewFixedBuilder(make([]byte, 0, labelChunkHeaderSize+len(c.Entries)*labelEntrySize))
	addHeader(b, uint8(c.Kind), c.Mode, &c.Session)
	b.AddUint32(c.Seq)
	b.AddUint32(c.Total)
	b.AddUint32(uint32(len(c.Entries)))
	for i := range c.Entries {
		b.AddBytes(c.Entries[i].Key[:])
		b.AddBytes(c.Entries[i].Label[:])
	}
	return b.Bytes()
}

// check enforces what the encoding requires of a chunk's fields.
func (c *LabelChunk) check() error {
	switch {
	case !labelKind(c.Kind):
		return ErrMessageType
	case c.Mode != BothLearn:
		return fmt.Errorf("%w: labels are exchanged in %v only", ErrMode, BothLearn)
	case len(c.Entries) == 0 || len(c.Entries) > MaxChunkSize:
		return fmt.Errorf("%w: label chunk of %d entries", ErrLabelCount, len(c.Entries))
	case c.Total > MaxReconItems || uint64(c.Seq)*uint64(len(c.Entries)) >= uint64(c.Total):
		return fmt.Errorf("%w: label chunk %d of %d entries, %d labels in all", ErrLabelCount, c.Seq, len(c.Entries), c.Total)
	}
	for i := 1; i < len(c.Entries); i++ {
		if bytes.Compare(c.Entries[i-1].Key[:], c.Entries[i].Key[:]) >= 0 {
			return fmt.Errorf("%w: entry %d out of order", ErrLabelKey, i)
		}
	}
	return nil
}

// UnmarshalBinary decodes a label chunk, checking the count against
// MaxChunkSize and the remaining length before allocating, and rejecting
// unknown kinds, modes other than BothLearn, keys out of order and
// trailing bytes. On error c is unchanged.
func (c *LabelChunk) UnmarshalBinary(data []byte) error {
	var (
		d                 LabelChunk
		version, kind, md uint8
		n                 uint32
	)
	s := cryptobyte.String(data)
	if !readHeader(&s, &version, &kind, &md, &d.Session) ||
		!s.ReadUint32(&d.Seq) || !s.ReadUint32(&d.Total) || !s.ReadUint32(&n) {
		return ErrMalformed
	}
	d.Kind, d.Mode = ChunkKind(kind), Mode(md)
	switch {
	case version != Version:
		return ErrVersion
	case n == 0 || n > MaxChunkSize:
		return fmt.Errorf("%w: label chunk of %d entries", ErrLabelCount, n)
	case uint64(len(s)) < uint64(n)*labelEntrySize:
		return ErrMalformed
	case uint64(len(s)) > uint64(n)*labelEntrySize:
		return ErrTrailingBytes
	}
	d.Entries = make([]LabelEntry, n)
	for i := range d.Entries {
		s.CopyBytes(d.Entries[i].Key[:])
		s.CopyBytes(d.Entries[i].Label[:])
	}
	if err := d.check(); err != nil {
		return err
	}
	*c = d
	return nil
}

// PeerLabel is the peer's label for one of this side's matched items.
type PeerLabel struct {
	// Index is the item's index in this side's Items.
	Index int
	Label [LabelSize]byte
}

// LabelExchange is one side's label exchange after the matching phases:
// the requester sends its label chunk s, the responder checks it and
// answers with its own chunk s, for s from 0 while labels are left. Both
// sides hold the same matches, so both send the same number of labels in
// chunks of the reconciliation's chunk size. A LabelExchange is not safe
// for concurrent use; any error ends it.
type LabelExchange struct {
	role      Role
	session   SessionID
	chunkSize int
	own       []Match // sorted by key
	byKey     map[LabelKey]int
	sent      int // own chunks built
	accepted  int // peer chunks accepted
	last      LabelKey
	failed    bool
}

// Labels starts the label exchange of a finished BothLearn reconciliation
// over this side's matches, as MatchKeys returned them for every reply. It
// refuses a set of matches that is not exactly the one the reconciliation
// counted: a side resumed from a checkpoint has lost the matches before
// it, and cannot exchange labels.
func (r *Reconciler) Labels(matches []Match) (*LabelExchange, error) {
	switch {
	case r.params.Mode != BothLearn:
		return nil, fmt.Errorf("%w: labels are exchanged in %v only", ErrMode, BothLearn)
	case !r.Done():
		return nil, fmt.Errorf("%w: labels before the matching ended", ErrOutOfOrder)
	case len(matches) != r.matches:
		return nil, fmt.Errorf("%w: %d matches known of %d", ErrLabelMatches, len(matches), r.matches)
	}
	own := slices.Clone(matches)
	slices.SortFunc(own, func(a, b Match) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	byKey := make(map[LabelKey]int, len(own))
	indices := make(map[int]bool, len(own))
	for i, m := range own {
		if _, dup := byKey[m.Key]; dup || indices[m.Index] || m.Index < 0 || m.Index >= r.ownSize() {
			return nil, fmt.Errorf("%w: match %d repeated or out of range", ErrLabelMatches, i)
		}
		byKey[m.Key], indices[m.Index] = m.Index, true
	}
	return &LabelExchange{role: r.role, session: r.session, chunkSize: r.params.ChunkSize, own: own, byKey: byKey}, nil
}

// Chunks is the number of label chunks each side sends.
func (x *LabelExchange) Chunks() int { return (len(x.own) + x.chunkSize - 1) / x.chunkSize }

// Done reports whether every label chunk of the peer was accepted.
func (x *LabelExchange) Done() bool { return x.accepted == x.Chunks() }

// Received is the number of peer labels accepted so far.
func (x *LabelExchange) Received() int { return min(x.accepted*x.chunkSize, len(x.own)) }

func (x *LabelExchange) span(seq int) (int, int) {
	lo := seq * x.chunkSize
	return lo, min(lo+x.chunkSize, len(x.own))
}

// OwnChunk returns this side's label chunk seq, the label of each matched
// item taken from label. The requester's chunk seq goes before the
// responder's, which answers it: the responder builds its chunk seq only
// once it has accepted the requester's.
func (x *LabelExchange) OwnChunk(seq uint32, label func(index int) ([LabelSize]byte, error)) (*LabelChunk, error) {
	switch {
	case x.failed:
		return nil, ErrFailed
	case int(seq) != x.sent || int(seq) >= x.Chunks():
		return nil, fmt.Errorf("%w: label chunk %d, next is %d of %d", ErrSequence, seq, x.sent, x.Chunks())
	case x.role == RoleResponder && int(seq) >= x.accepted:
		return nil, fmt.Errorf("%w: label chunk %d before the requester's", ErrOutOfOrder, seq)
	}
	kind := KindRequesterLabels
	if x.role == RoleResponder {
		kind = KindResponderLabels
	}
	lo, hi := x.span(int(seq))
	c := &LabelChunk{Kind: kind, Mode: BothLearn, Session: x.session, Seq: seq, Total: uint32(len(x.own)),
		Entries: make([]LabelEntry, hi-lo)}
	for i, m := range x.own[lo:hi] {
		l, err := label(m.Index)
		if err != nil {
			return nil, err
		}
		c.Entries[i] = LabelEntry{Key: m.Key, Label: l}
	}
	x.sent++
	return c, nil
}

// Accept checks the peer's next label chunk and returns the peer's label
// for each of this side's items it names. The chunk must be of the peer's
// stream and this session, the next in sequence, declare as many labels in
// all as this side has matches, hold exactly the entries its position
// requires, and name by each key one of this side's matches, in ascending
// order across the stream: a label for an item that did not match, one
// repeated or one too many is refused with ErrLabelKey or ErrLabelCount.
func (x *LabelExchange) Accept(c *LabelChunk) ([]PeerLabel, error) {
	if x.failed {
		return nil, ErrFailed
	}
	out, err := x.accept(c)
	if err != nil {
		x.failed = true
		return nil, err
	}
	return out, nil
}

func (x *LabelExchange) accept(c *LabelChunk) ([]PeerLabel, error) {
	want := KindResponderLabels
	if x.role == RoleResponder {
		want = KindRequesterLabels
	}
	switch {
	case c == nil:
		return nil, ErrMalformed
	case c.Kind != want:
		return nil, fmt.Errorf("%w: %v, expected %v", ErrChunkKind, c.Kind, want)
	case c.Mode != BothLearn:
		return nil, ErrModeMismatch
	case c.Session != x.session:
		return nil, ErrSessionMismatch
	case int(c.Seq) != x.accepted:
		return nil, fmt.Errorf("%w: label chunk %d, expected %d", ErrSequence, c.Seq, x.accepted)
	case x.role == RoleRequester && int(c.Seq) >= x.sent:
		return nil, fmt.Errorf("%w: label chunk %d answers nothing sent", ErrOutOfOrder, c.Seq)
	case int(c.Total) != len(x.own):
		return nil, fmt.Errorf("%w: the peer sends %d labels, %d items matched", ErrLabelCount, c.Total, len(x.own))
	}
	lo, hi := x.span(int(c.Seq))
	if hi <= lo || len(c.Entries) != hi-lo {
		return nil, fmt.Errorf("%w: label chunk %d has %d entries, want %d", ErrLabelCount, c.Seq, len(c.Entries), max(0, hi-lo))
	}
	out := make([]PeerLabel, len(c.Entries))
	for i := range c.Entries {
		e := &c.Entries[i]
		if (lo > 0 || i > 0) && bytes.Compare(x.last[:], e.Key[:]) >= 0 {
			return nil, fmt.Errorf("%w: entry %d of label chunk %d out of order", ErrLabelKey, i, c.Seq)
		}
		index, ok := x.byKey[e.Key]
		if !ok {
			return nil, fmt.Errorf("%w: entry %d of label chunk %d names no match", ErrLabelKey, i, c.Seq)
		}
		out[i] = PeerLabel{Index: index, Label: e.Label}
		x.last = e.Key
	}
	x.accepted++
	return out, nil
}
