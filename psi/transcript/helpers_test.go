package transcript

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// testHeader returns a valid catalog-OPRF header for count items.
func testHeader(t testing.TB, count uint32) *Header {
	t.Helper()
	h := &Header{
		Protocol:  ProtocolCatalogOPRF,
		Suite:     SuiteRistretto255SHA512,
		Category:  "black",
		Period:    20261122,
		Requester: "BankAMSP",
		Responder: "LenderBMSP",
		Sequence:  7,
		Count:     count,
	}
	h.KeyID = sha256.Sum256([]byte("provider key"))
	if err := h.Validate(); err != nil {
		t.Fatalf("testHeader: %v", err)
	}
	return h
}

// testElements returns n deterministic pseudo-elements of size bytes, derived
// from seed so different calls give different bytes.
func testElements(n, size int, seed string) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		var ctr [8]byte
		binary.BigEndian.PutUint64(ctr[:], uint64(i))
		d := sha256.Sum256(append([]byte(seed), ctr[:]...))
		e := make([]byte, size)
		for j := range e {
			e[j] = d[j%len(d)] ^ byte(j/len(d))
		}
		out[i] = e
	}
	return out
}

// testExchange returns a consistent header, request and response.
func testExchange(t testing.TB, p Protocol, count, own int) (*Header, *Request, *Response) {
	t.Helper()
	h := testHeader(t, uint32(count))
	h.Protocol = p
	s, err := LookupSuite(h.Suite)
	if err != nil {
		t.Fatal(err)
	}
	req := &Request{Elements: testElements(count, s.ElementSize, "request")}
	resp := &Response{Evaluated: testElements(count, s.ElementSize, "evaluated")}
	if n := s.ProofSize(p); n > 0 {
		resp.Proof = testElements(1, n, "proof")[0]
	}
	if own > 0 {
		resp.Own = testElements(own, s.ElementSize, "own")
	}
	return h, req, resp
}
