package audit

import (
	"errors"
	"fmt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// ReconDispute is a claim that one answer of a reconciliation is wrong: the
// transcript both parties' records are in, the chunk the claimant sent
// (Answered, as encoded on the wire) and the answer it received (Answer).
// It holds masked points and hashes only, never an identifier.
type ReconDispute struct {
	Transcript *transcript.ReconTranscript
	Answered   []byte
	Answer     []byte
}

// DecideReconciliation decides a dispute over one answer of a
// reconciliation (docs/protocol/ecdh.md, "Disputes") from the dispute alone
// and both parties' registered signing keys for the header's period. It is
// upheld only if the header is one both parties signed, the transcript
// holds a record of this answer, signed by its sender and naming this
// answered chunk, the answered chunk is a valid chunk of the session at
// that place, and the answer is not the answered chunk raised to the key
// its sender committed to in the header (its proof fails, or it is not even
// a valid chunk). Anything the claimant cannot tie to the accused's
// signature is rejected: a replayed or reordered chunk presented as
// evidence does not match the signed record. An answer whose proof holds
// is correct: a match the claimant believes withheld can then only come
// from the other side's choice of input, which no transcript can show.
func DecideReconciliation(d *ReconDispute, requesterKeys, responderKeys [][]byte) Decision {
	reject := func(format string, args ...any) Decision {
		return Decision{Verdict: accounting.VerdictRejected, Reason: fmt.Sprintf(format, args...)}
	}
	upheld := func(format string, args ...any) Decision {
		return Decision{Verdict: accounting.VerdictUpheld, Reason: fmt.Sprintf(format, args...)}
	}
	if d == nil || d.Transcript == nil {
		return reject("no transcript")
	}
	t := d.Transcript
	hd, err := t.VerifyHeader(requesterKeys, responderKeys)
	if err != nil {
		return reject("the header is not one both parties signed: %v", err)
	}
	rec := findRecord(t, transcript.ChunkHash(d.Answer))
	if rec == nil {
		return reject("the transcript records no answer with this hash")
	}
	if rec.Answers != transcript.ChunkHash(d.Answered) {
		return reject("the %v %d was signed as the answer to another chunk than the one presented", rec.Kind, rec.Seq)
	}
	sender, commitment := t.Header.Sender(rec.Kind)
	keys := requesterKeys
	if sender == t.Header.Responder {
		keys = responderKeys
	}
	if err := transcript.VerifyRecord(keys, hd, rec); err != nil {
		return reject("%s did not sign this answer: %v", sender, err)
	}
	params, err := t.Header.Params()
	if err != nil {
		return reject("the header gives no session parameters: %v", err)
	}
	var answered, answer ecdh.Chunk
	if err := answered.UnmarshalBinary(d.Answered); err != nil {
		return reject("the answered chunk is not a valid chunk: %v", err)
	}
	if err := ecdh.CheckChunk(params, &answered); err != nil {
		return reject("the answered chunk is not a chunk of this session at its place: %v", err)
	}
	if err := answer.UnmarshalBinary(d.Answer); err != nil {
		return upheld("%s signed an answer that is not a valid chunk: %v", sender, err)
	}
	if err := ecdh.VerifyAnswer(params, commitment, &answered, &answer); err != nil {
		if errors.Is(err, ecdh.ErrProof) {
			return upheld("%s's %v %d is not the answered chunk raised to the key it committed to in the header: %v", sender, rec.Kind, rec.Seq, err)
		}
		return upheld("%s signed an answer that does not fit the chunk it answers: %v", sender, err)
	}
	return reject("%s's %v %d proves it is the answered chunk raised to the key it committed to: the answer is correct, and a match believed withheld can only come from the other side's choice of input, which no transcript shows", sender, rec.Kind, rec.Seq)
}

// findRecord returns the answer record with the given chunk hash.
func findRecord(t *transcript.ReconTranscript, hash [transcript.DigestSize]byte) *transcript.ChunkRecord {
	for i := range t.Records {
		r := &t.Records[i]
		if r.Hash == hash && (r.Kind == ecdh.KindRequesterReturn || r.Kind == ecdh.KindResponderReply) {
			return r
		}
	}
	return nil
}
