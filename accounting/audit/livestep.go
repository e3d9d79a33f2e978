package audit

import (
	"bytes"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// LiveStep is the homomorphic step of a live exchange as its two parties
// sign it (docs/protocol/hepsi.md, "Served by the node"): the requester's
// signature over the live query digest, which chains the billed
// exchange's response digest, the parameters' digest and the query's
// digest, and, once answered, the provider's receipt, its signature over
// the live answer digest. Both parties keep it: the provider records it
// before its answer leaves, the requester when it signs the query and
// when the receipt arrives. It holds digests only, never the query or the
// answer.
type LiveStep struct {
	// Params is psi/hepsi Params.Digest of the parameters the query was
	// made under; Query is the query's Query.Digest.
	Params, Query [transcript.DigestSize]byte
	// RequesterSignature is over QueryDigest(the exchange's response
	// digest).
	RequesterSignature []byte
	// Answer is the answer's Answer.Digest and ResponderSignature the
	// provider's signature over transcript.LiveAnswerDigest; both zero
	// until the step is answered.
	Answer             [transcript.DigestSize]byte
	ResponderSignature []byte
}

// Why a live step does not hold.
var (
	// ErrLiveStep is an encoded live step that does not parse.
	ErrLiveStep = errors.New("audit: malformed live step")
	// ErrLiveQuerySignature is a live step whose requester signature does
	// not verify over the exchange's live query digest.
	ErrLiveQuerySignature = errors.New("audit: the requester's signature does not verify over the live query digest")
	// ErrLiveUnanswered is a live step without the provider's receipt.
	ErrLiveUnanswered = errors.New("audit: the live step holds no answer receipt")
	// ErrLiveReceipt is a receipt that does not verify over the live
	// answer digest.
	ErrLiveReceipt = errors.New("audit: the provider's receipt does not verify over the live answer digest")
)

// Answered reports whether s holds the provider's receipt.
func (s *LiveStep) Answered() bool { return len(s.ResponderSignature) > 0 }

// QueryDigest is the live query digest of s in the exchange whose response
// digest is responseDigest: what the requester signs.
func (s *LiveStep) QueryDigest(responseDigest [transcript.DigestSize]byte) [transcript.DigestSize]byte {
	return transcript.LiveQueryDigest(responseDigest, s.Params, s.Query)
}

// VerifyQuery checks the requester's signature of s for the exchange whose
// response digest is responseDigest, under the requester's keys of the
// exchange's period.
func (s *LiveStep) VerifyQuery(requesterKeys [][]byte, responseDigest [transcript.DigestSize]byte) error {
	if transcript.VerifyRequest(requesterKeys, s.QueryDigest(responseDigest), s.RequesterSignature) != nil {
		return ErrLiveQuerySignature
	}
	return nil
}

// VerifyAnswer checks VerifyQuery, then that s holds the provider's
// receipt and that it verifies under the provider's keys of the period.
func (s *LiveStep) VerifyAnswer(requesterKeys, responderKeys [][]byte, responseDigest [transcript.DigestSize]byte) error {
	if err := s.VerifyQuery(requesterKeys, responseDigest); err != nil {
		return err
	}
	if !s.Answered() {
		return ErrLiveUnanswered
	}
	digest := transcript.LiveAnswerDigest(s.QueryDigest(responseDigest), s.Answer)
	if transcript.VerifyResponse(responderKeys, digest, s.ResponderSignature) != nil {
		return ErrLiveReceipt
	}
	return nil
}

// MarshalBinary encodes s:
//
//	[32] params digest | [32] query digest | u8 length, requester signature
//	| [32] answer digest | u8 length, responder signature
func (s *LiveStep) MarshalBinary() ([]byte, error) {
	if len(s.RequesterSignature) > ecsig.MaxSignatureSize || len(s.ResponderSignature) > ecsig.MaxSignatureSize {
		return nil, fmt.Errorf("%w: signature over %d bytes", ErrLiveStep, ecsig.MaxSignatureSize)
	}
	var b cryptobyte.Builder
	b.AddBytes(s.Params[:])
	b.AddBytes(s.Query[:])
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(s.RequesterSignature) })
	b.AddBytes(s.Answer[:])
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(s.ResponderSignature) })
	return b.Bytes()
}

// UnmarshalBinary decodes MarshalBinary's encoding. The requester
// signature must be present; an answer digest without a receipt, or a
// receipt without an answer digest, is refused.
func (s *LiveStep) UnmarshalBinary(data []byte) error {
	in := cryptobyte.String(data)
	var params, query, answer []byte
	var reqSig, respSig cryptobyte.String
	if !in.ReadBytes(&params, transcript.DigestSize) || !in.ReadBytes(&query, transcript.DigestSize) ||
		!in.ReadUint8LengthPrefixed(&reqSig) || !in.ReadBytes(&answer, transcript.DigestSize) ||
		!in.ReadUint8LengthPrefixed(&respSig) || !in.Empty() {
		return ErrLiveStep
	}
	var zero [transcript.DigestSize]byte
	switch {
	case len(reqSig) == 0 || len(reqSig) > ecsig.MaxSignatureSize || len(respSig) > ecsig.MaxSignatureSize:
		return fmt.Errorf("%w: signature of the wrong size", ErrLiveStep)
	case (len(respSig) == 0) != bytes.Equal(answer, zero[:]):
		return fmt.Errorf("%w: answer digest and receipt go together", ErrLiveStep)
	}
	*s = LiveStep{RequesterSignature: bytes.Clone(reqSig), ResponderSignature: bytes.Clone(respSig)}
	copy(s.Params[:], params)
	copy(s.Query[:], query)
	copy(s.Answer[:], answer)
	return nil
}

// BilledDigest is the response digest of the exchange entry bills, which
// a live step's digests chain and a non-delivery verdict's statement is
// over.
func BilledDigest(e *accounting.RecordedEntry) ([transcript.DigestSize]byte, error) {
	var zero [transcript.DigestSize]byte
	h, err := transcript.ParseHeader(e.Header)
	if err != nil {
		return zero, err
	}
	if len(e.RequestHash) != transcript.DigestSize || len(e.ResponseHash) != transcript.DigestSize {
		return zero, errors.New("body hashes of the wrong size")
	}
	rd, err := transcript.RequestDigest(h, [transcript.DigestSize]byte(e.RequestHash))
	if err != nil {
		return zero, err
	}
	return transcript.ResponseDigest(rd, [transcript.DigestSize]byte(e.ResponseHash)), nil
}

// LiveClaim is a requester's claim that the homomorphic step of the live
// exchange an entry bills was never answered: the step it signed (without
// a receipt), checked under the keys both parties registered for the
// entry's period.
type LiveClaim struct {
	Step                         *LiveStep
	RequesterKeys, ResponderKeys [][]byte
}

// DecideLiveUnanswered decides a requester's claim that the provider took
// the POPRF step of a live exchange (the entry bills it) and never answered
// its homomorphic query (docs/audit.md, "Live mode"). The requester's claim
// must be a query it signed for exactly the billed exchange. The provider
// answers it by producing the step it recorded for the exchange (produced,
// nil if it produced none; why says what happened instead): a step
// carrying a query the requester signed for the exchange and the
// provider's receipt for it shows the step was answered, whether for the
// claimed query or for another (the exchange takes one query), and the
// claim is rejected. Anything else is upheld: the provider cannot show it
// answered the homomorphic step it billed the POPRF step for.
func DecideLiveUnanswered(entry *accounting.RecordedEntry, state accounting.PeriodState, claim LiveClaim, produced *LiveStep, why string) Decision {
	if d, final := unreversible(entry, state); final {
		return d
	}
	h, err := transcript.ParseHeader(entry.Header)
	if err != nil {
		return reject("the entry's header does not parse: %v", err)
	}
	if h.Protocol != transcript.ProtocolLiveHE {
		return reject("the entry bills a %v exchange, not a live one: it has no homomorphic step", h.Protocol)
	}
	billed, err := BilledDigest(entry)
	if err != nil {
		return reject("the entry's digests are unusable: %v", err)
	}
	if claim.Step == nil || claim.Step.VerifyQuery(claim.RequesterKeys, billed) != nil {
		return reject("the claim is not a homomorphic query the requester signed for the billed exchange")
	}
	if produced == nil {
		return upheld("the provider showed no signed answer to the homomorphic step it billed the POPRF step for: %s", why)
	}
	if err := produced.VerifyAnswer(claim.RequesterKeys, claim.ResponderKeys, billed); err != nil {
		return upheld("what the provider showed is not an answered homomorphic step of the billed exchange: %v", err)
	}
	if produced.Query != claim.Step.Query || produced.Params != claim.Step.Params {
		return reject("the provider answered the exchange's homomorphic step for another query the requester signed (an exchange takes one query): the charge stands")
	}
	return reject("the provider shows its signed receipt for the requester's query: it was answered, and the same query sent again is answered again, unbilled")
}
