package ecdh

import (
	"bytes"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/psi/dleq"
)

// Role says which side of a reconciliation a party plays.
type Role uint8

const (
	// RoleRequester starts the reconciliation (secret a, items x).
	RoleRequester Role = 1
	// RoleResponder answers it (secret b, items y).
	RoleResponder Role = 2
)

func (r Role) valid() bool { return r == RoleRequester || r == RoleResponder }

func (r Role) String() string {
	switch r {
	case RoleRequester:
		return "requester"
	case RoleResponder:
		return "responder"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// MaxReconItems bounds each side of a reconciliation: 2^24, above the 10^7
// entries a list may hold, so that a set index and a match flag fit in 32
// bits.
const MaxReconItems = 1 << 24

// MaxWindow is how many of a party's own chunks may wait for their answers
// at once, and so how far back a Rewind after a reconnection reaches.
const MaxWindow = 8

// labelDLEQ separates the reconciliation's batched proofs from every other
// proof (psi/dleq).
const labelDLEQ = "riskmesh/v1/ecdh-psi/dleq"

var proofSuite = dleq.NewSuite(labelDLEQ)

// ReconParams are what both sides agree before a reconciliation (the signed
// transcript header carries them): the mode, the session context, both set
// sizes and the chunk size.
type ReconParams struct {
	Mode Mode
	// Context derives the session id, as for the single-shot protocol.
	Context []byte
	// RequesterSize and ResponderSize are n and m, 1 to MaxReconItems.
	RequesterSize, ResponderSize int
	// ChunkSize is the number of points per chunk, 1 to MaxChunkSize;
	// 0 means DefaultChunkSize.
	ChunkSize int
}

func (p *ReconParams) validate() error {
	if !p.Mode.valid() {
		return ErrMode
	}
	if p.ChunkSize == 0 {
		p.ChunkSize = DefaultChunkSize
	}
	switch {
	case p.RequesterSize < 1 || p.RequesterSize > MaxReconItems || p.ResponderSize < 1 || p.ResponderSize > MaxReconItems:
		return fmt.Errorf("%w: sizes %d and %d, want 1 to %d", ErrSetTooLarge, p.RequesterSize, p.ResponderSize, MaxReconItems)
	case p.ChunkSize < 1 || p.ChunkSize > MaxChunkSize:
		return fmt.Errorf("%w: chunk size %d, want 1 to %d", ErrChunkSize, p.ChunkSize, MaxChunkSize)
	}
	return nil
}

// setEntry is one double-masked value a party holds for the whole of phase
// 2: its match key and, for the responder, the index of its own item
// (matchedFlag marks it matched). The requester's entries have index 0.
type setEntry struct {
	key   matchKey
	index uint32
}

// setEntrySize is the encoding of a setEntry in the set log: key then
// big-endian index.
const setEntrySize = matchKeySize + 4

const matchedFlag = 1 << 31

// answeredChunk records the digest of a peer chunk already answered, so that a
// resent chunk is answered again only if it is byte for byte the original.
type answeredChunk struct {
	seq    uint32
	digest [sha256.Size]byte
	ok     bool
}

// Reconciler is one side of a streaming, verifiable ECDH-PSI reconciliation
// (docs/protocol/ecdh.md). Phase 1 streams the responder's masked items to
// the requester, which raises them to a and keeps their match keys (and in
// BothLearn returns them with a proof); phase 2 streams the requester's
// masked items to the responder, which answers them raised to b with a
// proof. Each side masks its own items in a fresh secret order and proves
// every exponentiation it returns against the commitment in the signed
// header. A Reconciler is not safe for concurrent use. Any error ends it;
// Resume from the last checkpoint continues.
type Reconciler struct {
	role    Role
	params  ReconParams
	session SessionID
	h       *hasher
	items   Items
	rand    io.Reader // proof nonces

	secret     ristretto255.Scalar
	commitment Point
	peer       Point
	started    bool

	permSeed [32]byte
	perm     []int32 // own chunk k holds items perm[k*ChunkSize : ...]

	answeredN   int // peer chunks answered
	acceptedN   int // answers to own chunks accepted
	replayFloor int // lowest seq a resent peer chunk may have: answeredN unless Rewind lowered it
	recent      [MaxWindow]answeredChunk
	outstanding map[uint32]ownChunk
	ahead       *ahead // the next own chunk, masked in the background

	set     []setEntry
	sorted  bool
	log     io.Writer
	matches int
	failed  bool
}

// ownChunk is a sent chunk kept until its answer arrives.
type ownChunk struct {
	points []Point
	elems  []edwards25519.Point
}

// NewReconciler prepares one side of a reconciliation over items, which
// must have params' size for role and hold distinct normalised identifiers.
// rand draws the secret exponent, the secret order and proof nonces; nil
// means crypto/rand. Send Commitment to the peer (in the header) and call
// Start with the peer's.
func NewReconciler(role Role, params ReconParams, items Items, rand io.Reader) (*Reconciler, error) {
	if !role.valid() {
		return nil, fmt.Errorf("ecdh: unknown role %d", uint8(role))
	}
	if err := params.validate(); err != nil {
		return nil, err
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	r := &Reconciler{role: role, params: params, items: items, rand: rand}
	if items == nil || items.Len() != r.ownSize() {
		return nil, fmt.Errorf("%w: %d items, the parameters say %d", ErrCountMismatch, lenOf(items), r.ownSize())
	}
	secret, err := randomScalar(rand)
	if err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(rand, r.permSeed[:]); err != nil {
		return nil, fmt.Errorf("ecdh: read randomness: %w", err)
	}
	r.secret.Set(secret)
	secret.Zero()
	r.init()
	r.commitment = commitmentTo(&r.secret)
	return r, nil
}

func lenOf(items Items) int {
	if items == nil {
		return 0
	}
	return items.Len()
}

// init derives what the secrets and parameters determine.
func (r *Reconciler) init() {
	r.session = NewSessionID(r.params.Context)
	r.h = newHasher(r.session)
	r.perm = permutation(&r.permSeed, r.ownSize())
	r.outstanding = make(map[uint32]ownChunk)
}

// Commitment is K = k·G for this side's secret k, which the transcript
// header carries and every proof of this side is checked against.
func (r *Reconciler) Commitment() Point { return r.commitment }

// Start records the peer's commitment, from the header both signed.
func (r *Reconciler) Start(peer Point) error {
	var e edwards25519.Point
	if err := decodePoint(&e, &peer); err != nil {
		return fmt.Errorf("%w: %w", ErrCommitment, err)
	}
	if peer == r.commitment {
		return fmt.Errorf("%w: the peer's commitment equals ours", ErrCommitment)
	}
	r.peer, r.started = peer, true
	return nil
}

// SetLog makes the Reconciler append every set entry it adds to w, 20 bytes
// each, before the step that adds them returns. Resume reads that log back;
// the log must be durable before the checkpoint that counts its entries.
func (r *Reconciler) SetLog(w io.Writer) { r.log = w }

// LogSize is the length in bytes of the set log the current state covers;
// after Resume, truncate the log to it before appending.
func (r *Reconciler) LogSize() int64 { return int64(len(r.set)) * setEntrySize }

func (r *Reconciler) ownSize() int {
	if r.role == RoleRequester {
		return r.params.RequesterSize
	}
	return r.params.ResponderSize
}

func (r *Reconciler) peerSize() int {
	if r.role == RoleRequester {
		return r.params.ResponderSize
	}
	return r.params.RequesterSize
}

func (r *Reconciler) chunks(size int) int {
	return (size + r.params.ChunkSize - 1) / r.params.ChunkSize
}

// span is the range of stream positions chunk seq covers in a set of size.
func (r *Reconciler) span(size int, seq uint32) (int, int) {
	lo := int(seq) * r.params.ChunkSize
	return lo, min(lo+r.params.ChunkSize, size)
}

// streams names the four streams as each role sees them.
type streams struct {
	own, peer, answer, peerAnswer ChunkKind
}

var roleStreams = map[Role]streams{
	RoleRequester: {own: KindRequesterMasked, peer: KindResponderMasked, answer: KindRequesterReturn, peerAnswer: KindResponderReply},
	RoleResponder: {own: KindResponderMasked, peer: KindRequesterMasked, answer: KindResponderReply, peerAnswer: KindRequesterReturn},
}

// expectsAnswers reports whether the peer answers this side's chunks: the
// responder's are answered only in BothLearn.
func (r *Reconciler) expectsAnswers() bool {
	return r.role == RoleRequester || r.params.Mode == BothLearn
}

// phase1Done reports whether this side holds its whole set: the requester
// once it has answered every responder chunk, the responder once every
// return is accepted (at once in RequesterLearns, where it holds none).
func (r *Reconciler) phase1Done() bool {
	if r.role == RoleRequester {
		return r.answeredN == r.chunks(r.params.ResponderSize)
	}
	return r.params.Mode == RequesterLearns || r.acceptedN == r.chunks(r.params.ResponderSize)
}

// Done reports whether this side has finished: every chunk it receives was
// handled and every answer it awaits accepted.
func (r *Reconciler) Done() bool {
	if r.role == RoleRequester {
		return r.phase1Done() && r.acceptedN == r.chunks(r.params.RequesterSize)
	}
	return r.phase1Done() && r.answeredN == r.chunks(r.params.RequesterSize)
}

// Progress returns the chunks handled so far and the total this side
// handles (peer chunks answered plus answers accepted), for progress bars.
func (r *Reconciler) Progress() (done, total int) {
	// Both sides handle the requester's n chunks; the requester also the
	// responder's m, the responder their m returns in BothLearn.
	total = r.chunks(r.params.RequesterSize)
	if r.role == RoleRequester || r.params.Mode == BothLearn {
		total += r.chunks(r.params.ResponderSize)
	}
	return r.answeredN + r.acceptedN, total
}

// Matches is the number of this side's items matched so far.
func (r *Reconciler) Matches() int { return r.matches }

func (r *Reconciler) check() error {
	switch {
	case r.failed:
		return ErrFailed
	case !r.started:
		return ErrCommitment
	}
	return nil
}

// OwnChunk returns chunk seq of this side's own stream: its items in its
// secret order, masked with its secret. It is deterministic, so a chunk
// resent after a reconnection has the same bytes. The requester sends its
// chunks only after phase 1; a side that awaits answers may have at most
// MaxWindow chunks unanswered.
func (r *Reconciler) OwnChunk(seq uint32) (*Chunk, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	if int(seq) >= r.chunks(r.ownSize()) {
		return nil, fmt.Errorf("%w: chunk %d of %d", ErrSequence, seq, r.chunks(r.ownSize()))
	}
	if r.role == RoleRequester && !r.phase1Done() {
		return nil, fmt.Errorf("%w: the requester sends its items after phase 1", ErrOutOfOrder)
	}
	if r.expectsAnswers() {
		switch {
		case int(seq) < r.acceptedN:
			return nil, fmt.Errorf("%w: chunk %d is already answered", ErrReplay, seq)
		case int(seq) >= r.acceptedN+MaxWindow:
			return nil, fmt.Errorf("%w: chunk %d while %d is unanswered", ErrWindow, seq, r.acceptedN)
		}
	}
	own, err := r.masked(seq)
	if err != nil {
		return nil, err
	}
	if r.expectsAnswers() {
		r.outstanding[seq] = own
	}
	r.maskAhead(seq + 1)
	return &Chunk{Kind: roleStreams[r.role].own, Mode: r.params.Mode, Session: r.session, Seq: seq, Points: own.points}, nil
}

// ahead is an own chunk masked in the background: OwnChunk starts masking
// the next chunk when it returns one, so that a side masks its next chunk
// while the peer works on the last one. Only one exchange is in flight,
// yet both sides' cores are busy (the responder's in phase 1, the
// requester's in phase 2) rather than one side's waiting on the other's.
type ahead struct {
	seq  uint32
	done chan struct{} // closed once own and err are set
	own  ownChunk
	err  error
}

// masked returns own chunk seq masked: the chunk masked ahead if it is
// that one, otherwise masked now.
func (r *Reconciler) masked(seq uint32) (ownChunk, error) {
	a := r.ahead
	r.ahead = nil
	if a != nil && a.seq == seq {
		<-a.done
		return a.own, a.err
	}
	return r.mask(seq)
}

// mask masks own chunk seq, keeping the masked elements if this side
// awaits answers (the proof of an answer is checked over them). It reads
// only what is fixed once the Reconciler is made (the role, parameters,
// hasher, secret, items and order), so it may run beside any method.
func (r *Reconciler) mask(seq uint32) (ownChunk, error) {
	lo, hi := r.span(r.ownSize(), seq)
	var own ownChunk
	if r.expectsAnswers() {
		own.elems = make([]edwards25519.Point, hi-lo)
	}
	var err error
	own.points, err = mask(r.h, &r.secret, r.items, r.perm[lo:hi], own.elems)
	return own, err
}

// maskAhead starts masking own chunk seq in the background, if there is
// such a chunk. A chunk masked ahead and never asked for costs its CPU
// time and nothing else.
func (r *Reconciler) maskAhead(seq uint32) {
	if int(seq) >= r.chunks(r.ownSize()) {
		return
	}
	a := &ahead{seq: seq, done: make(chan struct{})}
	r.ahead = a
	go func() {
		defer close(a.done)
		a.own, a.err = r.mask(seq)
	}()
}

// Answer handles a chunk of the peer's own stream and returns this side's
// answer (nil for the requester in RequesterLearns, which returns nothing)
// and the indices of this side's items it matched (the responder in
// BothLearn, phase 2). Chunks must come in sequence; after Rewind, the
// peer may resend the chunks it has no answer for, byte for byte, and they
// are answered again without matching twice.
func (r *Reconciler) Answer(c *Chunk) (*Chunk, []int, error) {
	if err := r.check(); err != nil {
		return nil, nil, err
	}
	ans, matches, err := r.answer(c)
	if err != nil {
		r.failed = true
		return nil, nil, err
	}
	return ans, matches, nil
}

func (r *Reconciler) answer(c *Chunk) (*Chunk, []int, error) {
	if err := r.checkChunk(c, roleStreams[r.role].peer); err != nil {
		return nil, nil, err
	}
	if r.role == RoleResponder && !r.phase1Done() {
		return nil, nil, fmt.Errorf("%w: requester chunk before every return", ErrOutOfOrder)
	}
	digest := chunkDigest(c)
	resent := int(c.Seq) < r.answeredN
	switch {
	case int(c.Seq) > r.answeredN:
		return nil, nil, fmt.Errorf("%w: chunk %d, expected %d", ErrSequence, c.Seq, r.answeredN)
	case resent:
		prev := r.recent[c.Seq%MaxWindow]
		if int(c.Seq) < r.replayFloor || !prev.ok || prev.seq != c.Seq || prev.digest != digest {
			return nil, nil, fmt.Errorf("%w: chunk %d", ErrReplay, c.Seq)
		}
	}
	lo, hi := r.span(r.peerSize(), c.Seq)
	if len(c.Points) != hi-lo {
		return nil, nil, fmt.Errorf("%w: chunk %d has %d points, want %d", ErrChunkSize, c.Seq, len(c.Points), hi-lo)
	}
	elems, err := c.elements()
	if err != nil {
		return nil, nil, err
	}
	out := raise(&r.secret, elems)
	var ans *Chunk
	if r.role == RoleResponder || r.params.Mode == BothLearn {
		proof, err := dleq.Prove(proofSuite, &r.secret, (*[PointSize]byte)(&r.commitment), c.Points, out, elems, r.rand)
		if err != nil {
			return nil, nil, err
		}
		ans = &Chunk{Kind: roleStreams[r.role].answer, Mode: r.params.Mode, Session: r.session, Seq: c.Seq, Points: out, Proof: proof}
	}
	if resent {
		r.replayFloor = int(c.Seq) + 1
		return ans, nil, nil
	}
	var matches []int
	if r.role == RoleRequester {
		if err := r.addEntries(out, nil); err != nil {
			return nil, nil, err
		}
	} else if r.params.Mode == BothLearn {
		if matches, err = r.lookup(out, func(_ int, e *setEntry) int { return int(e.index &^ matchedFlag) }); err != nil {
			return nil, nil, err
		}
	}
	r.recent[c.Seq%MaxWindow] = answeredChunk{seq: c.Seq, digest: digest, ok: true}
	r.answeredN++
	r.replayFloor = r.answeredN
	if r.role == RoleRequester && r.phase1Done() {
		if err := r.sortSet(); err != nil {
			return nil, nil, err
		}
	}
	return ans, matches, nil
}

// Accept verifies the peer's answer to one of this side's chunks against
// the peer's commitment and returns the indices of this side's items it
// matched (the requester, phase 2). A wrong exponentiation fails with
// ErrProof and ends the reconciliation.
func (r *Reconciler) Accept(c *Chunk) ([]int, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	matches, err := r.accept(c)
	if err != nil {
		r.failed = true
		return nil, err
	}
	return matches, nil
}

func (r *Reconciler) accept(c *Chunk) ([]int, error) {
	if !r.expectsAnswers() {
		return nil, fmt.Errorf("%w: no answers in %v", ErrChunkKind, r.params.Mode)
	}
	if err := r.checkChunk(c, roleStreams[r.role].peerAnswer); err != nil {
		return nil, err
	}
	switch {
	case int(c.Seq) < r.acceptedN:
		return nil, fmt.Errorf("%w: answer %d", ErrReplay, c.Seq)
	case int(c.Seq) > r.acceptedN:
		return nil, fmt.Errorf("%w: answer %d, expected %d", ErrSequence, c.Seq, r.acceptedN)
	}
	own, ok := r.outstanding[c.Seq]
	if !ok {
		return nil, fmt.Errorf("%w: answer %d to a chunk not sent", ErrOutOfOrder, c.Seq)
	}
	if len(c.Points) != len(own.points) {
		return nil, fmt.Errorf("%w: answer %d has %d points, want %d", ErrChunkSize, c.Seq, len(c.Points), len(own.points))
	}
	if err := verifyProof(r.peer, own.points, own.elems, c); err != nil {
		return nil, err
	}
	lo, _ := r.span(r.ownSize(), c.Seq)
	var matches []int
	var err error
	if r.role == RoleRequester {
		matches, err = r.lookup(c.Points, func(i int, _ *setEntry) int { return int(r.perm[lo+i]) })
	} else {
		err = r.addEntries(c.Points, r.perm[lo:])
	}
	if err != nil {
		return nil, err
	}
	delete(r.outstanding, c.Seq)
	r.acceptedN++
	if r.role == RoleResponder && r.phase1Done() {
		if err := r.sortSet(); err != nil {
			return nil, err
		}
	}
	return matches, nil
}

// Rewind is called after a reconnection with the number of this side's
// answers the peer reports it accepted: the peer then resends the chunks
// from there, which Answer answers again if they are unchanged. It reaches
// back at most MaxWindow chunks. Outstanding own chunks are dropped: ask
// OwnChunk for them again.
func (r *Reconciler) Rewind(peerAccepted int) error {
	if err := r.check(); err != nil {
		return err
	}
	if peerAccepted > r.answeredN || peerAccepted < r.answeredN-MaxWindow || peerAccepted < 0 {
		return fmt.Errorf("%w: peer accepted %d, %d answered", ErrSequence, peerAccepted, r.answeredN)
	}
	r.replayFloor = peerAccepted
	clear(r.outstanding)
	return nil
}

func (r *Reconciler) checkChunk(c *Chunk, kind ChunkKind) error {
	switch {
	case c == nil:
		return ErrMalformed
	case c.Kind != kind:
		return fmt.Errorf("%w: %v, expected %v", ErrChunkKind, c.Kind, kind)
	}
	return r.checkPeerSession(c.Mode, c.Session)
}

func (r *Reconciler) checkPeerSession(mode Mode, session SessionID) error {
	switch {
	case mode != r.params.Mode:
		return ErrModeMismatch
	case session != r.session:
		return ErrSessionMismatch
	}
	return nil
}

// addEntries adds the match keys of pts to the set, with the own item
// indices idx (nil for the requester), and appends them to the log.
func (r *Reconciler) addEntries(pts []Point, idx []int32) error {
	ks := keys(&r.session, pts)
	if r.set == nil {
		// The set ends with one entry per responder item: allocate it once.
		r.set = make([]setEntry, 0, r.params.ResponderSize)
	}
	buf := make([]byte, 0, len(ks)*setEntrySize)
	for i := range ks {
		e := setEntry{key: ks[i]}
		if idx != nil {
			e.index = uint32(idx[i])
		}
		r.set = append(r.set, e)
		buf = append(buf, e.key[:]...)
		buf = binary.BigEndian.AppendUint32(buf, e.index)
	}
	if r.log != nil {
		if _, err := r.log.Write(buf); err != nil {
			return fmt.Errorf("ecdh: write set log: %w", err)
		}
	}
	return nil
}

// sortSet sorts the set by key once it is complete. Honest masked values
// are distinct, so a repeated key means the peer repeated a point.
func (r *Reconciler) sortSet() error {
	slices.SortFunc(r.set, func(a, b setEntry) int { return bytes.Compare(a.key[:], b.key[:]) })
	for i := 1; i < len(r.set); i++ {
		if r.set[i].key == r.set[i-1].key {
			return &PointError{Field: "set", Index: i, Err: ErrDuplicatePoint}
		}
	}
	r.sorted = true
	return nil
}

// lookup finds the match keys of pts in the sorted set and returns, sorted,
// own(i, entry) for each hit. An entry matched twice means the peer
// repeated a point.
func (r *Reconciler) lookup(pts []Point, own func(i int, e *setEntry) int) ([]int, error) {
	if !r.sorted {
		return nil, fmt.Errorf("%w: set not complete", ErrOutOfOrder)
	}
	var matches []int
	for i, k := range keys(&r.session, pts) {
		j, ok := slices.BinarySearchFunc(r.set, k, func(e setEntry, k matchKey) int { return bytes.Compare(e.key[:], k[:]) })
		if !ok {
			continue
		}
		e := &r.set[j]
		if e.index&matchedFlag != 0 {
			return nil, &PointError{Field: "Chunk.Points", Index: i, Err: ErrDuplicatePoint}
		}
		matches = append(matches, own(i, e))
		e.index |= matchedFlag
	}
	slices.Sort(matches)
	r.matches += len(matches)
	return matches, nil
}

// chunkDigest identifies a peer chunk for resend checks.
func chunkDigest(c *Chunk) [sha256.Size]byte {
	h := sha256.New()
	var seq [4]byte
	binary.BigEndian.PutUint32(seq[:], c.Seq)
	h.Write(seq[:])
	for i := range c.Points {
		h.Write(c.Points[i][:])
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}
