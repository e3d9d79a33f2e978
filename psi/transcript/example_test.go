package transcript_test

import (
	"crypto/rand"
	"fmt"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

func newKey() (ecsig.Sign, []byte) {
	key, pub, err := ecsig.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return ecsig.NewSigner(key, rand.Reader), pub
}

// A requester signs the request digest before sending (the purchase order),
// the responder signs the response digest (the receipt), and anyone holding
// both public keys can verify the stored transcript.
func Example() {
	requesterSign, requesterKey := newKey()
	responderSign, responderKey := newKey()

	tr := &transcript.Transcript{
		Header: transcript.Header{
			Protocol:  transcript.ProtocolCatalogOPRF,
			Suite:     transcript.SuiteRistretto255SHA512,
			Category:  "black",
			Period:    20261122,
			Requester: "BankAMSP",
			Responder: "LenderBMSP",
			Sequence:  1,
			Count:     2,
		},
		Request: transcript.Request{Elements: [][]byte{make([]byte, 32), make([]byte, 32)}},
	}
	reqHash, err := transcript.HashRequest(&tr.Header, &tr.Request)
	if err != nil {
		panic(err)
	}
	reqDigest, err := transcript.RequestDigest(&tr.Header, reqHash)
	if err != nil {
		panic(err)
	}
	if tr.RequestSignature, err = transcript.SignRequest(requesterSign, reqDigest); err != nil {
		panic(err)
	}

	// The responder verifies the purchase order, answers, and signs.
	if err := transcript.VerifyRequest([][]byte{requesterKey}, reqDigest, tr.RequestSignature); err != nil {
		panic(err)
	}
	tr.Response = transcript.Response{
		Evaluated: [][]byte{make([]byte, 32), make([]byte, 32)},
		Proof:     make([]byte, 64),
	}
	respHash, err := transcript.HashResponse(&tr.Header, &tr.Response)
	if err != nil {
		panic(err)
	}
	respDigest := transcript.ResponseDigest(reqDigest, respHash)
	if tr.ResponseSignature, err = transcript.SignResponse(responderSign, respDigest); err != nil {
		panic(err)
	}

	// Both store the file; an auditor parses and verifies it.
	file, err := tr.MarshalBinary()
	if err != nil {
		panic(err)
	}
	stored, err := transcript.Parse(file)
	if err != nil {
		panic(err)
	}
	d, err := stored.Verify([][]byte{requesterKey}, [][]byte{responderKey})
	fmt.Println(err, d.ResponseDigest == respDigest)
	// Output: <nil> true
}

// The chaincode's view: a ledger entry carries the encoded header and the two
// body hashes, and the signed digests are recomputed from them alone.
func ExampleParseHeader() {
	h := &transcript.Header{
		Protocol: transcript.ProtocolCatalogOPRF, Suite: transcript.SuiteRistretto255SHA512,
		Category: "grey", Period: 42, Requester: "BankAMSP", Responder: "LenderBMSP",
		Sequence: 9, Count: 1000,
	}
	encoded, err := h.MarshalBinary()
	if err != nil {
		panic(err)
	}
	var requestHash, responseHash [transcript.DigestSize]byte // from the entry

	parsed, err := transcript.ParseHeader(encoded)
	if err != nil {
		panic(err)
	}
	reqDigest, err := transcript.RequestDigest(parsed, requestHash)
	if err != nil {
		panic(err)
	}
	_ = transcript.ResponseDigest(reqDigest, responseHash) // verify signatures over these
	fmt.Println(parsed.Category, parsed.Period, parsed.Count, parsed.Requester, "->", parsed.Responder)
	// Output: grey 42 1000 BankAMSP -> LenderBMSP
}
