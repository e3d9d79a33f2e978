package ledgertest

import (
	"io"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// SignedEntry builds the entry a node records for the exchange h describes:
// body hashes read from rnd (the load tests and benchmarks that use it never
// open the bodies), the requester's signature over the request digest and
// the responder's over the response digest.
func SignedEntry(h *transcript.Header, requester, responder ecsig.Sign, amount int64, rnd io.Reader) (accounting.Entry, error) {
	enc, err := h.MarshalBinary()
	if err != nil {
		return accounting.Entry{}, err
	}
	var reqHash, respHash [transcript.DigestSize]byte
	if _, err := io.ReadFull(rnd, reqHash[:]); err != nil {
		return accounting.Entry{}, err
	}
	if _, err := io.ReadFull(rnd, respHash[:]); err != nil {
		return accounting.Entry{}, err
	}
	reqDigest, err := transcript.RequestDigest(h, reqHash)
	if err != nil {
		return accounting.Entry{}, err
	}
	reqSig, err := transcript.SignRequest(requester, reqDigest)
	if err != nil {
		return accounting.Entry{}, err
	}
	respSig, err := transcript.SignResponse(responder, transcript.ResponseDigest(reqDigest, respHash))
	if err != nil {
		return accounting.Entry{}, err
	}
	return accounting.Entry{
		Header: enc, RequestHash: reqHash[:], ResponseHash: respHash[:],
		RequesterSignature: reqSig, ResponderSignature: respSig, Amount: amount,
	}, nil
}
