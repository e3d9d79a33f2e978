package chaincode

import (
	"golang.org/x/crypto/cryptobyte"

	"github.com/riskmesh/riskmesh/internal/labelhash"
)

// LabelEndorsement is the domain-separation label of an auditor's endorsement
// digest. "v1" is bumped, never reused, if the digest's inputs change.
const LabelEndorsement = "riskmesh/v1/ledger/endorsement"

// EndorsementDigest returns the digest an auditor signs (ecsig) to endorse a
// verdict on an entry:
//
//	SHA-256( uint8 len || LabelEndorsement
//	      || uint64 period
//	      || uint8 len || requester || uint8 len || responder
//	      || uint64 sequence || uint8 verdict )
//
// integers big-endian. The entry key is unique and entries are immutable, so
// the key names exactly one billed exchange.
func EndorsementDigest(k EntryKey, v Verdict) ([32]byte, error) {
	if err := k.Validate(); err != nil {
		return [32]byte{}, err
	}
	if v != VerdictUpheld && v != VerdictRejected {
		return [32]byte{}, newError(CodeInvalidArgument, "unknown verdict")
	}
	var b cryptobyte.Builder
	b.AddUint64(k.Period)
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(k.Requester)) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(k.Responder)) })
	b.AddUint64(k.Sequence)
	b.AddUint8(uint8(v))
	msg, err := b.Bytes()
	if err != nil {
		return [32]byte{}, newError(CodeInvalidArgument, "endorsement encoding: "+err.Error())
	}
	return labelhash.Sum(LabelEndorsement, msg), nil
}
