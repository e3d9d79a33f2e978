package transcript

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"
)

func TestDigestsBindEveryInput(t *testing.T) {
	h, req, resp := testExchange(t, ProtocolCatalogOPRF, 4, 0)
	base := digestsOf(t, h, req, resp)
	tests := []struct {
		name   string
		mutate func(h *Header, req *Request, resp *Response)
		// request says whether the request digest must change too.
		request bool
	}{
		{"category", func(h *Header, _ *Request, _ *Response) { h.Category = "grey" }, true},
		{"period", func(h *Header, _ *Request, _ *Response) { h.Period++ }, true},
		{"requester", func(h *Header, _ *Request, _ *Response) { h.Requester = "OtherMSP" }, true},
		{"responder", func(h *Header, _ *Request, _ *Response) { h.Responder = "OtherMSP" }, true},
		{"sequence", func(h *Header, _ *Request, _ *Response) { h.Sequence++ }, true},
		{"key id", func(h *Header, _ *Request, _ *Response) { h.KeyID[0] ^= 1 }, true},
		{"request element", func(_ *Header, req *Request, _ *Response) { req.Elements[3][31] ^= 1 }, true},
		{"request order", func(_ *Header, req *Request, _ *Response) {
			req.Elements[0], req.Elements[1] = req.Elements[1], req.Elements[0]
		}, true},
		{"evaluated element", func(_ *Header, _ *Request, resp *Response) { resp.Evaluated[0][0] ^= 1 }, false},
		{"proof", func(_ *Header, _ *Request, resp *Response) { resp.Proof[63] ^= 1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, req, resp := testExchange(t, ProtocolCatalogOPRF, 4, 0)
			tt.mutate(h, req, resp)
			got := digestsOf(t, h, req, resp)
			if got.responseDigest == base.responseDigest {
				t.Error("response digest did not change")
			}
			if changed := got.requestDigest != base.requestDigest; changed != tt.request {
				t.Errorf("request digest changed = %v, want %v", changed, tt.request)
			}
		})
	}
}

func TestDigestsSeparateDomains(t *testing.T) {
	h, req, resp := testExchange(t, ProtocolCatalogOPRF, 2, 0)
	d := digestsOf(t, h, req, resp)
	all := [][DigestSize]byte{d.requestHash, d.requestDigest, d.responseHash, d.responseDigest}
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			if all[i] == all[j] {
				t.Fatalf("digests %d and %d are equal", i, j)
			}
		}
	}
}

func TestHashRejectsInconsistentBodies(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(h *Header, req *Request, resp *Response)
		want   error
	}{
		{"request too few", func(_ *Header, req *Request, _ *Response) { req.Elements = req.Elements[:2] }, ErrCountMismatch},
		{"request element short", func(_ *Header, req *Request, _ *Response) { req.Elements[1] = req.Elements[1][:31] }, ErrElementSize},
		{"evaluated too many", func(_ *Header, _ *Request, resp *Response) {
			resp.Evaluated = append(resp.Evaluated, resp.Evaluated[0])
		}, ErrCountMismatch},
		{"proof missing", func(_ *Header, _ *Request, resp *Response) { resp.Proof = nil }, ErrProofSize},
		{"own elements for OPRF", func(_ *Header, _ *Request, resp *Response) { resp.Own = resp.Evaluated }, ErrUnexpectedOwn},
		{"P-256 suite with 32-byte elements", func(h *Header, _ *Request, _ *Response) { h.Suite = SuiteP256SHA256 }, ErrElementSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, req, resp := testExchange(t, ProtocolCatalogOPRF, 3, 0)
			tt.mutate(h, req, resp)
			_, errReq := HashRequest(h, req)
			_, errResp := HashResponse(h, resp)
			if !errors.Is(errReq, tt.want) && !errors.Is(errResp, tt.want) {
				t.Fatalf("got %v / %v, want %v", errReq, errResp, tt.want)
			}
		})
	}
}

func TestECDHResponseShape(t *testing.T) {
	h, req, resp := testExchange(t, ProtocolECDHBothLearn, 3, 5)
	digestsOf(t, h, req, resp)
	resp.Proof = make([]byte, 64)
	if _, err := HashResponse(h, resp); !errors.Is(err, ErrProofSize) {
		t.Fatalf("ECDH response with a proof: got %v, want ErrProofSize", err)
	}
}

type digests struct {
	requestHash, requestDigest, responseHash, responseDigest [DigestSize]byte
}

func digestsOf(t *testing.T, h *Header, req *Request, resp *Response) digests {
	t.Helper()
	var d digests
	var err error
	if d.requestHash, err = HashRequest(h, req); err != nil {
		t.Fatal(err)
	}
	if d.requestDigest, err = RequestDigest(h, d.requestHash); err != nil {
		t.Fatal(err)
	}
	if d.responseHash, err = HashResponse(h, resp); err != nil {
		t.Fatal(err)
	}
	d.responseDigest = ResponseDigest(d.requestDigest, d.responseHash)
	return d
}

// TestDigestConstruction pins the documented formulas with a second,
// independent spelling of them.
func TestDigestConstruction(t *testing.T) {
	h, req, resp := testExchange(t, ProtocolECDHRequesterLearns, 2, 1)
	d := digestsOf(t, h, req, resp)
	hdr, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	reqEnc := append([]byte{0, 0, 0, 2}, append(bytes.Clone(req.Elements[0]), req.Elements[1]...)...)
	respEnc := []byte{0, 0, 0, 2}
	respEnc = append(respEnc, resp.Evaluated[0]...)
	respEnc = append(respEnc, resp.Evaluated[1]...)
	respEnc = append(respEnc, 0, 0, 0, 0, 1) // empty proof, one own element
	respEnc = append(respEnc, resp.Own[0]...)
	sum := func(label string, parts ...[]byte) [DigestSize]byte {
		b := append([]byte{byte(len(label))}, label...)
		for _, p := range parts {
			b = append(b, p...)
		}
		return sha256.Sum256(b)
	}
	wantReqHash := sum("riskmesh/v1/transcript/request", reqEnc)
	wantReqDigest := sum("riskmesh/v1/transcript/request-digest", hdr, wantReqHash[:])
	wantRespHash := sum("riskmesh/v1/transcript/response", respEnc)
	wantRespDigest := sum("riskmesh/v1/transcript/response-digest", wantReqDigest[:], wantRespHash[:])
	if d.requestHash != wantReqHash || d.requestDigest != wantReqDigest ||
		d.responseHash != wantRespHash || d.responseDigest != wantRespDigest {
		t.Fatalf("digests do not follow the documented construction")
	}
}
