package ecdh

import (
	"fmt"

	"filippo.io/edwards25519"

	"github.com/riskmesh/riskmesh/psi/dleq"
)

// answers maps each answer kind to the kind of chunk it answers.
var answers = map[ChunkKind]ChunkKind{
	KindRequesterReturn: KindResponderMasked,
	KindResponderReply:  KindRequesterMasked,
}

// CheckChunk checks, without any secret, that c is a well-placed chunk of
// the session params describe: its mode and session id, a kind the mode
// has, and the length its sequence number requires.
func CheckChunk(params ReconParams, c *Chunk) error {
	if err := params.validate(); err != nil {
		return err
	}
	if c == nil {
		return ErrMalformed
	}
	switch {
	case c.Mode != params.Mode:
		return ErrModeMismatch
	case c.Session != NewSessionID(params.Context):
		return ErrSessionMismatch
	case !c.Kind.valid() || (c.Kind == KindRequesterReturn && params.Mode != BothLearn):
		return fmt.Errorf("%w: %v in %v", ErrChunkKind, c.Kind, params.Mode)
	}
	size := params.RequesterSize
	if c.Kind == KindResponderMasked || c.Kind == KindRequesterReturn {
		size = params.ResponderSize
	}
	lo := int(c.Seq) * params.ChunkSize
	if lo >= size || len(c.Points) != min(params.ChunkSize, size-lo) {
		return fmt.Errorf("%w: %v chunk %d has %d points", ErrChunkSize, c.Kind, c.Seq, len(c.Points))
	}
	return nil
}

// VerifyAnswer decides, without any secret, whether answer is the correct
// exponentiation of answered under commitment, the answering side's key
// commitment from the signed header: both chunks must pass CheckChunk,
// answer must be of the kind that answers answered's, with its sequence
// number, and its proof must verify. Auditors use it on the two chunks of
// a disputed exchange.
func VerifyAnswer(params ReconParams, commitment Point, answered, answer *Chunk) error {
	for _, c := range []*Chunk{answered, answer} {
		if err := CheckChunk(params, c); err != nil {
			return err
		}
	}
	if want, ok := answers[answer.Kind]; !ok || answered.Kind != want {
		return fmt.Errorf("%w: %v does not answer %v", ErrChunkKind, answer.Kind, answered.Kind)
	}
	if answer.Seq != answered.Seq {
		return fmt.Errorf("%w: answer %d to chunk %d", ErrSequence, answer.Seq, answered.Seq)
	}
	bases, err := answered.elements()
	if err != nil {
		return err
	}
	return verifyProof(commitment, answered.Points, bases, answer)
}

// verifyProof checks answer's proof that its points are the bases raised
// to the key behind commitment.
func verifyProof(commitment Point, bases []Point, baseElems []edwards25519.Point, answer *Chunk) error {
	images, err := answer.elements()
	if err != nil {
		return err
	}
	if err := dleq.Verify(proofSuite, (*[PointSize]byte)(&commitment), bases, answer.Points, baseElems, images, &answer.Proof); err != nil {
		return fmt.Errorf("%w: answer %d: %w", ErrProof, answer.Seq, err)
	}
	return nil
}
