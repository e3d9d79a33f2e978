package provider

import (
	"testing"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// FuzzEvaluate feeds arbitrary headers, blinded arrays and signatures to a
// real provider's Handle: it must answer every one, with a typed PeerError
// unless the request is a genuine signed one (the seed).
func FuzzEvaluate(f *testing.F) {
	fx := newFixture(f, nil)
	good := fx.newQuery(1, 0, phone, phone).req.GetEvaluate()
	f.Add(good.GetHeader(), good.GetBlinded(), good.GetRequesterSignature())
	f.Add(good.GetHeader(), good.GetBlinded()[:32], good.GetRequesterSignature())
	f.Add(good.GetHeader()[:20], []byte{}, []byte{1})
	f.Add([]byte{}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, header, blinded, sig []byte) {
		resp := fx.handle(&riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_Evaluate{Evaluate: &riskmeshv1.EvaluateRequest{
			Header: header, Blinded: blinded, RequesterSignature: sig,
		}}})
		switch {
		case resp.GetEvaluate() != nil:
			if len(resp.GetEvaluate().GetEvaluated()) != len(blinded) {
				t.Fatalf("answered %d bytes for %d blinded", len(resp.GetEvaluate().GetEvaluated()), len(blinded))
			}
		case resp.GetError() == nil || resp.GetError().GetCode() == riskmeshv1.ErrorCode_ERROR_CODE_UNSPECIFIED:
			t.Fatalf("answer %v is neither an evaluation nor a typed error", resp)
		}
	})
}
