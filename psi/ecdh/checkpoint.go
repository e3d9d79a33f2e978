package ecdh

import (
	cryptorand "crypto/rand"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/gtank/ristretto255"
	"golang.org/x/crypto/cryptobyte"
)

// CheckpointVersion is the first byte of a checkpoint.
const CheckpointVersion = 1

// MaxContextLen bounds the session context a checkpoint carries.
const MaxContextLen = 4096

// MaxCheckpointSize bounds an encoded checkpoint: fixed fields, the
// context, and MaxWindow answered-chunk digests.
const MaxCheckpointSize = 3 + 2 + MaxContextLen + 3*4 + 3*32 + 3*4 + 8 + 1 + MaxWindow*(4+32)

// Checkpoint returns the state of this side after the steps so far, to be
// stored durably (after the set log it counts) once the chunk just handled
// is acknowledged. It is small: a few hundred bytes plus the context. It
// holds this side's secret exponent and secret order, so it must be kept
// like a private key (file mode 0600) and deleted when the reconciliation
// ends. Outstanding own chunks are not in it: after Resume, the side sends
// again from the first unanswered one, whose bytes are unchanged.
//
// Encoding (big-endian, cryptobyte):
//
//	u8 version=1 | u8 role | u8 mode | u16-prefixed context |
//	u32 requester size | u32 responder size | u32 chunk size |
//	[32] secret scalar | [32] peer commitment | [32] order seed |
//	u32 answered | u32 accepted | u32 replay floor | u64 matches |
//	u8 count | count x (u32 seq | [32] digest)   answered chunks kept for resends
//
// The number of set-log entries is not stored: it follows from the
// counters (LogSize).
func (r *Reconciler) Checkpoint() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	if len(r.params.Context) > MaxContextLen {
		return nil, fmt.Errorf("%w: context of %d bytes, at most %d", ErrCheckpoint, len(r.params.Context), MaxContextLen)
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, 256+len(r.params.Context)))
	b.AddUint8(CheckpointVersion)
	b.AddUint8(uint8(r.role))
	b.AddUint8(uint8(r.params.Mode))
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(r.params.Context) })
	b.AddUint32(uint32(r.params.RequesterSize))
	b.AddUint32(uint32(r.params.ResponderSize))
	b.AddUint32(uint32(r.params.ChunkSize))
	b.AddBytes(r.secret.Bytes())
	b.AddBytes(r.peer[:])
	b.AddBytes(r.permSeed[:])
	b.AddUint32(uint32(r.answeredN))
	b.AddUint32(uint32(r.acceptedN))
	b.AddUint32(uint32(r.replayFloor))
	b.AddUint64(uint64(r.matches))
	kept := r.keptAnswered()
	b.AddUint8(uint8(len(kept)))
	for _, a := range kept {
		b.AddUint32(a.seq)
		b.AddBytes(a.digest[:])
	}
	return b.Bytes()
}

// keptAnswered is the answered-chunk records still within reach of a
// Rewind, oldest first.
func (r *Reconciler) keptAnswered() []answeredChunk {
	var kept []answeredChunk
	for seq := max(0, r.answeredN-MaxWindow); seq < r.answeredN; seq++ {
		if a := r.recent[seq%MaxWindow]; a.ok && int(a.seq) == seq {
			kept = append(kept, a)
		}
	}
	return kept
}

// Resume rebuilds a Reconciler from a checkpoint, the same items, and the
// set log it wrote (at least LogSize bytes; only those are read). rand
// draws proof nonces; nil means crypto/rand. Every field is checked before
// anything is allocated from it, and the items must have the size the
// checkpoint records. Entries matched before the crash are not marked
// matched again, so a peer point repeated across the crash is not detected
// as a repeat.
func Resume(checkpoint []byte, items Items, log io.Reader, rand io.Reader) (*Reconciler, error) {
	r, err := decodeCheckpoint(checkpoint)
	if err != nil {
		return nil, err
	}
	if items == nil || items.Len() != r.ownSize() {
		return nil, fmt.Errorf("%w: %d items, the checkpoint says %d", ErrCheckpoint, lenOf(items), r.ownSize())
	}
	r.items = items
	if rand == nil {
		rand = cryptorand.Reader
	}
	r.rand = rand
	r.init()
	if err := r.readLog(log); err != nil {
		return nil, err
	}
	return r, nil
}

// logEntries is how many set entries the counters say were added.
func (r *Reconciler) logEntries() int {
	switch {
	case r.role == RoleRequester:
		return min(r.answeredN*r.params.ChunkSize, r.params.ResponderSize)
	case r.params.Mode == BothLearn:
		return min(r.acceptedN*r.params.ChunkSize, r.params.ResponderSize)
	}
	return 0
}

func (r *Reconciler) readLog(log io.Reader) error {
	n := r.logEntries()
	if n > 0 && log == nil {
		return fmt.Errorf("%w: %d set entries and no log", ErrCheckpoint, n)
	}
	if n > 0 {
		r.set = make([]setEntry, 0, r.params.ResponderSize)
	}
	buf := make([]byte, 4096*setEntrySize)
	for len(r.set) < n {
		k := min(n-len(r.set), 4096)
		if _, err := io.ReadFull(log, buf[:k*setEntrySize]); err != nil {
			return fmt.Errorf("%w: set log: %w", ErrCheckpoint, err)
		}
		for i := range k {
			e := buf[i*setEntrySize:]
			entry := setEntry{key: matchKey(e[:matchKeySize]), index: binary.BigEndian.Uint32(e[matchKeySize:])}
			if r.role == RoleResponder && int(entry.index) >= r.ownSize() {
				return fmt.Errorf("%w: set log entry %d has index %d", ErrCheckpoint, len(r.set), entry.index)
			}
			r.set = append(r.set, entry)
		}
	}
	if r.phase1Done() && len(r.set) > 0 {
		if err := r.sortSet(); err != nil {
			return fmt.Errorf("%w: %w", ErrCheckpoint, err)
		}
	}
	return nil
}

// decodeCheckpoint parses and checks a checkpoint; every bound holds before
// Resume allocates the order and the set.
func decodeCheckpoint(data []byte) (*Reconciler, error) {
	bad := func(format string, args ...any) (*Reconciler, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrCheckpoint}, args...)...)
	}
	if len(data) > MaxCheckpointSize {
		return bad("%d bytes, at most %d", len(data), MaxCheckpointSize)
	}
	var (
		r                           Reconciler
		version, role, mode, kept   uint8
		context                     cryptobyte.String
		n, m, chunk                 uint32
		secret                      [32]byte
		answeredN, acceptedN, floor uint32
		matches                     uint64
	)
	s := cryptobyte.String(data)
	if !s.ReadUint8(&version) || !s.ReadUint8(&role) || !s.ReadUint8(&mode) ||
		!s.ReadUint16LengthPrefixed(&context) ||
		!s.ReadUint32(&n) || !s.ReadUint32(&m) || !s.ReadUint32(&chunk) ||
		!s.CopyBytes(secret[:]) || !s.CopyBytes(r.peer[:]) || !s.CopyBytes(r.permSeed[:]) ||
		!s.ReadUint32(&answeredN) || !s.ReadUint32(&acceptedN) || !s.ReadUint32(&floor) ||
		!s.ReadUint64(&matches) || !s.ReadUint8(&kept) {
		return bad("truncated")
	}
	if version != CheckpointVersion {
		return bad("version %d", version)
	}
	r.role = Role(role)
	if !r.role.valid() {
		return bad("role %d", role)
	}
	if len(context) > MaxContextLen {
		return bad("context of %d bytes", len(context))
	}
	r.params = ReconParams{Mode: Mode(mode), Context: []byte(context), RequesterSize: int(n), ResponderSize: int(m), ChunkSize: int(chunk)}
	if chunk == 0 {
		return bad("chunk size 0")
	}
	if err := r.params.validate(); err != nil {
		return bad("%w", err)
	}
	if _, err := r.secret.SetCanonicalBytes(secret[:]); err != nil {
		return bad("secret is not a canonical scalar")
	}
	clear(secret[:])
	if r.secret.Equal(ristretto255.NewScalar()) == 1 {
		return bad("secret is zero")
	}
	r.commitment = commitmentTo(&r.secret)
	if err := r.Start(r.peer); err != nil {
		return bad("%w", err)
	}
	r.answeredN, r.acceptedN, r.replayFloor, r.matches = int(answeredN), int(acceptedN), int(floor), int(matches)
	switch {
	case r.answeredN > r.chunks(r.peerSize()):
		return bad("%d peer chunks answered of %d", r.answeredN, r.chunks(r.peerSize()))
	case r.acceptedN > r.chunks(r.ownSize()) || (!r.expectsAnswers() && r.acceptedN != 0):
		return bad("%d answers accepted", r.acceptedN)
	case r.role == RoleRequester && r.acceptedN > 0 && !r.phase1Done():
		return bad("requester answers accepted before phase 1 ended")
	case r.role == RoleResponder && r.answeredN > 0 && !r.phase1Done():
		return bad("responder answered before phase 1 ended")
	case r.replayFloor > r.answeredN || r.replayFloor < r.answeredN-MaxWindow:
		return bad("replay floor %d with %d answered", r.replayFloor, r.answeredN)
	case r.matches > r.ownSize():
		return bad("%d matches of %d items", r.matches, r.ownSize())
	case int(kept) > min(MaxWindow, r.answeredN):
		return bad("%d answered chunks kept", kept)
	}
	prev := -1
	for range kept {
		var a answeredChunk
		if !s.ReadUint32(&a.seq) || !s.CopyBytes(a.digest[:]) {
			return bad("truncated")
		}
		a.ok = true
		if int(a.seq) >= r.answeredN || int(a.seq) < r.answeredN-MaxWindow || int(a.seq) <= prev {
			return bad("kept chunk %d with %d answered", a.seq, r.answeredN)
		}
		prev = int(a.seq)
		r.recent[a.seq%MaxWindow] = a
	}
	if !s.Empty() {
		return bad("trailing bytes")
	}
	return &r, nil
}
