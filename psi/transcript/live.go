package transcript

import "github.com/riskmesh/riskmesh/internal/labelhash"

// Live mode's homomorphic step (docs/protocol/hepsi.md, "Served by the
// node") follows an answered POPRF step and is chained to it: the
// requester signs LiveQueryDigest, which covers the POPRF step's response
// digest (so the header, its sequence and both element vectors) and the
// digests of the parameters and of the query; the provider signs
// LiveAnswerDigest, which chains that and covers the answer's digest.
const (
	LabelLiveQuery  = "riskmesh/v1/transcript/live-query"
	LabelLiveAnswer = "riskmesh/v1/transcript/live-answer"
)

// LiveQueryDigest returns SHA-256(label || responseDigest || paramsDigest
// || queryDigest): what the requester signs to send the homomorphic query
// of the exchange whose POPRF response digest is responseDigest.
func LiveQueryDigest(responseDigest, paramsDigest, queryDigest [DigestSize]byte) [DigestSize]byte {
	return labelhash.Sum(LabelLiveQuery, responseDigest[:], paramsDigest[:], queryDigest[:])
}

// LiveAnswerDigest returns SHA-256(label || liveQueryDigest ||
// answerDigest): the provider's receipt for the homomorphic answer.
func LiveAnswerDigest(liveQueryDigest, answerDigest [DigestSize]byte) [DigestSize]byte {
	return labelhash.Sum(LabelLiveAnswer, liveQueryDigest[:], answerDigest[:])
}
