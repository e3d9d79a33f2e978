package recon

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/riskmesh/riskmesh/internal/durable"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// book is one side's ReconTranscript, kept as the chunks pass: a record is
// signed for every chunk this side sends and checked for every chunk it
// receives, so the transcript both nodes keep carries every chunk signed by
// its sender, answers bound to what they answer.
type book struct {
	t      transcript.ReconTranscript
	digest [transcript.DigestSize]byte
	hashes map[ecdh.ChunkKind][][transcript.DigestSize]byte
}

func newBook(h *transcript.ReconHeader) (*book, error) {
	d, err := h.Digest()
	if err != nil {
		return nil, err
	}
	return &book{t: transcript.ReconTranscript{Header: *h}, digest: d,
		hashes: make(map[ecdh.ChunkKind][][transcript.DigestSize]byte)}, nil
}

// answered is the kind of chunk a chunk of kind k answers, or 0.
func answered(k ecdh.ChunkKind) ecdh.ChunkKind {
	switch k {
	case ecdh.KindRequesterReturn:
		return ecdh.KindResponderMasked
	case ecdh.KindResponderReply:
		return ecdh.KindRequesterMasked
	case ecdh.KindResponderLabels:
		return ecdh.KindRequesterLabels
	}
	return 0
}

// record builds the record of chunk c encoded as enc, checking that it is
// the next of its stream, that it has the length the header fixes and,
// for an answer, that the chunk it answers is recorded.
func (b *book) record(c *ecdh.Chunk, enc []byte) (transcript.ChunkRecord, error) {
	r := transcript.ChunkRecord{Kind: c.Kind, Seq: c.Seq, Count: uint32(len(c.Points)), Hash: transcript.ChunkHash(enc)}
	if err := b.place(&r); err != nil {
		return r, err
	}
	// The header fixes every chunk's length: a side cannot have more items
	// handled, or billed, than the sizes both signed.
	h := &b.t.Header
	size := int(h.RequesterSize)
	if c.Kind == ecdh.KindResponderMasked || c.Kind == ecdh.KindRequesterReturn {
		size = int(h.ResponderSize)
	}
	lo := int(c.Seq) * int(h.ChunkSize)
	if lo >= size || len(c.Points) != min(int(h.ChunkSize), size-lo) {
		return r, fmt.Errorf("%v chunk %d has %d points, the header allows %d", c.Kind, c.Seq, len(c.Points), max(0, min(int(h.ChunkSize), size-lo)))
	}
	return r, nil
}

// place checks r is the next record of its stream and, for an answer,
// sets the hash of the chunk it answers, which must be recorded.
func (b *book) place(r *transcript.ChunkRecord) error {
	if next := len(b.hashes[r.Kind]); int(r.Seq) != next {
		return fmt.Errorf("%v chunk %d, expected %d", r.Kind, r.Seq, next)
	}
	if a := answered(r.Kind); a != 0 {
		prev := b.hashes[a]
		if int(r.Seq) >= len(prev) {
			return fmt.Errorf("%v chunk %d answers a chunk not recorded", r.Kind, r.Seq)
		}
		r.Answers = prev[r.Seq]
	}
	return nil
}

func (b *book) add(r transcript.ChunkRecord) {
	b.t.Records = append(b.t.Records, r)
	b.hashes[r.Kind] = append(b.hashes[r.Kind], r.Hash)
}

// own signs and records a chunk this side sends and returns the signature.
func (b *book) own(sign ecsig.Sign, c *ecdh.Chunk, enc []byte) ([]byte, error) {
	r, err := b.record(c, enc)
	if err != nil {
		return nil, fmt.Errorf("recon: record own chunk: %w", err)
	}
	return b.signAdd(sign, r)
}

// signAdd signs and records r, a record of this side's.
func (b *book) signAdd(sign ecsig.Sign, r transcript.ChunkRecord) ([]byte, error) {
	if err := transcript.SignRecord(sign, b.digest, &r); err != nil {
		return nil, err
	}
	b.add(r)
	return r.Signature, nil
}

// peer checks and records a chunk the peer sent with its record
// signature. A chunk out of place or under a bad signature is
// ErrPeerChunk and is not recorded.
func (b *book) peer(keys [][]byte, c *ecdh.Chunk, enc, sig []byte) error {
	r, err := b.record(c, enc)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPeerChunk, err)
	}
	return b.verifyAdd(keys, r, sig)
}

// verifyAdd checks the peer's signature sig over r and records r.
func (b *book) verifyAdd(keys [][]byte, r transcript.ChunkRecord, sig []byte) error {
	r.Signature = sig
	if err := transcript.VerifyRecord(keys, b.digest, &r); err != nil {
		return fmt.Errorf("%w: %w", ErrPeerChunk, err)
	}
	b.add(r)
	return nil
}

// save writes the transcript to path, replacing any earlier copy.
func (b *book) save(path string) error {
	enc, err := b.t.MarshalBinary()
	if err != nil {
		return err
	}
	if err := durable.WriteFile(path, enc, 0o600); err != nil {
		return fmt.Errorf("recon: save transcript: %w", err)
	}
	return nil
}

// saveEvidence keeps, beside the transcript, the two chunk bodies a
// dispute over a rejected answer needs (audit.ReconDispute): the chunk this
// side sent and the answer that failed.
func saveEvidence(dir, id string, answered, answer []byte) error {
	base := filepath.Join(dir, id)
	return errors.Join(durable.WriteFile(base+answeredSuffix, answered, 0o600), durable.WriteFile(base+answerSuffix, answer, 0o600))
}

// ID names a reconciliation: its parties, period and sequence, which the
// header fixes and the ledger entry keys on.
func ID(requester, responder string, period, sequence uint64) string {
	return requester + "-" + responder + "-" + strconv.FormatUint(period, 10) + "-" + strconv.FormatUint(sequence, 10)
}

// paths are the result file and transcript of reconciliation id in dir.
func paths(dir, id string) (result, transcriptPath string) {
	return filepath.Join(dir, id+".ndjson"), filepath.Join(dir, id+".rmrc")
}

// restore adds the records a saved state kept, checking each is the next
// of its stream and answers the chunk recorded at its place.
func (b *book) restore(rs []transcript.ChunkRecord) error {
	for _, r := range rs {
		if next := len(b.hashes[r.Kind]); int(r.Seq) != next {
			return fmt.Errorf("%w: %v record %d, expected %d", errSaved, r.Kind, r.Seq, next)
		}
		if a := answered(r.Kind); a != 0 && (int(r.Seq) >= len(b.hashes[a]) || b.hashes[a][r.Seq] != r.Answers) {
			return fmt.Errorf("%w: %v record %d answers no recorded chunk", errSaved, r.Kind, r.Seq)
		}
		b.add(r)
	}
	return nil
}
