package ecdh

import (
	"fmt"

	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/psi/dleq"
)

// answers maps each answer kind to the kind of chunk it answers.
var answers = map[ChunkKind]ChunkKind{
	KindRequesterReturn: KindResponderMasked,
	KindResponderReply:  KindRequesterMasked,
}

// VerifyAnswer decides, without any secret, whether answer is the correct
// exponentiation of answered under commitment, the answering side's key
// commitment from the signed header: both chunks must belong to the
// session params describe, answer must be of the kind that answers
// answered's, carry its sequence number and length, and its proof must
// verify. Auditors use it on the two chunks of a disputed exchange.
func VerifyAnswer(params ReconParams, commitment Point, answered, answer *Chunk) error {
	if err := params.validate(); err != nil {
		return err
	}
	if answered == nil || answer == nil {
		return ErrMalformed
	}
	session := NewSessionID(params.Context)
	for _, c := range []*Chunk{answered, answer} {
		switch {
		case c.Mode != params.Mode:
			return ErrModeMismatch
		case c.Session != session:
			return ErrSessionMismatch
		}
	}
	want, ok := answers[answer.Kind]
	switch {
	case !ok || answered.Kind != want:
		return fmt.Errorf("%w: %v does not answer %v", ErrChunkKind, answer.Kind, answered.Kind)
	case answer.Kind == KindRequesterReturn && params.Mode != BothLearn:
		return fmt.Errorf("%w: no returns in %v", ErrChunkKind, params.Mode)
	case answer.Seq != answered.Seq:
		return fmt.Errorf("%w: answer %d to chunk %d", ErrSequence, answer.Seq, answered.Seq)
	}
	size := params.RequesterSize
	if answered.Kind == KindResponderMasked {
		size = params.ResponderSize
	}
	lo := int(answered.Seq) * params.ChunkSize
	if lo >= size || len(answered.Points) != min(params.ChunkSize, size-lo) || len(answer.Points) != len(answered.Points) {
		return fmt.Errorf("%w: chunk %d", ErrChunkSize, answered.Seq)
	}
	bases := make([]ristretto255.Element, len(answered.Points))
	if err := decodePoints(bases, answered.Points, "answered.Points"); err != nil {
		return err
	}
	return verifyProof(commitment, answered.Points, bases, answer)
}

// verifyProof checks answer's proof that its points are the bases raised
// to the key behind commitment.
func verifyProof(commitment Point, bases []Point, baseElems []ristretto255.Element, answer *Chunk) error {
	images := make([]ristretto255.Element, len(answer.Points))
	if err := decodePoints(images, answer.Points, "Chunk.Points"); err != nil {
		return err
	}
	if err := dleq.Verify(proofSuite, (*[PointSize]byte)(&commitment), bases, answer.Points, baseElems, images, &answer.Proof); err != nil {
		return fmt.Errorf("%w: answer %d: %w", ErrProof, answer.Seq, err)
	}
	return nil
}
