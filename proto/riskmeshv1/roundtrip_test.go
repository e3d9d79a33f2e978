package riskmeshv1

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// TestRoundTrip marshals a fully populated message of every kind and checks
// that it decodes to an equal message, with every field still set.
func TestRoundTrip(t *testing.T) {
	x := newExchange(t)
	for _, fx := range append(append(peerFixtures(x), nodeFixtures()...), auditFixtures(x)...) {
		t.Run(fx.name, func(t *testing.T) {
			if missing := unsetFields(fx.msg.ProtoReflect()); len(missing) > 0 {
				t.Fatalf("fixture leaves fields unset: %v", missing)
			}
			enc, err := proto.Marshal(fx.msg)
			if err != nil {
				t.Fatal(err)
			}
			got := fx.msg.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(enc, got); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, fx.msg) {
				t.Fatalf("round trip changed the message:\n got %v\nwant %v", got, fx.msg)
			}
			if missing := unsetFields(got.ProtoReflect()); len(missing) > 0 {
				t.Fatalf("decoded message lost fields: %v", missing)
			}
		})
	}
}

// TestPayloadsSurviveTransport checks that the psi payloads a node puts in
// peer messages come out byte for byte: the receiver's transcript digests,
// signatures, proof and ECDH decoders all accept them.
func TestPayloadsSurviveTransport(t *testing.T) {
	x := newExchange(t)
	decode := func(t *testing.T, m proto.Message, into proto.Message) {
		t.Helper()
		enc, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := proto.Unmarshal(enc, into); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("Evaluate", func(t *testing.T) {
		var req PeerRequest
		decode(t, &PeerRequest{Body: &PeerRequest_Evaluate{Evaluate: &EvaluateRequest{
			Header: x.header, Blinded: x.blinded, RequesterSignature: x.reqSig,
		}}}, &req)
		var resp PeerResponse
		decode(t, &PeerResponse{Body: &PeerResponse_Evaluate{Evaluate: &EvaluateResponse{
			Evaluated: x.evaled, Proof: x.proof, ResponderSignature: x.respSig,
		}}}, &resp)

		er, ev := req.GetEvaluate(), resp.GetEvaluate()
		h, err := transcript.ParseHeader(er.GetHeader())
		if err != nil {
			t.Fatal(err)
		}
		if n, err := oprf.ValidateElements(er.GetBlinded()); err != nil || n != int(h.Count) {
			t.Fatalf("blinded: %d elements, %v; header count %d", n, err, h.Count)
		}
		reqHash, err := transcript.HashRequest(h, &transcript.Request{Elements: split(er.GetBlinded())})
		if err != nil {
			t.Fatal(err)
		}
		reqDig, err := transcript.RequestDigest(h, reqHash)
		if err != nil {
			t.Fatal(err)
		}
		if err := transcript.VerifyRequest([][]byte{x.signKey}, reqDig, er.GetRequesterSignature()); err != nil {
			t.Fatalf("requester signature after transport: %v", err)
		}
		if err := oprf.VerifyProof(x.oprfPub, x.info, er.GetBlinded(), ev.GetEvaluated(), ev.GetProof()); err != nil {
			t.Fatalf("proof after transport: %v", err)
		}
		respHash, err := transcript.HashResponse(h, &transcript.Response{Evaluated: split(ev.GetEvaluated()), Proof: ev.GetProof()})
		if err != nil {
			t.Fatal(err)
		}
		if err := transcript.VerifyResponse([][]byte{x.respKey}, transcript.ResponseDigest(reqDig, respHash), ev.GetResponderSignature()); err != nil {
			t.Fatalf("responder signature after transport: %v", err)
		}
	})
	t.Run("ECDH", func(t *testing.T) {
		var req, ret PeerRequest
		decode(t, &PeerRequest{Body: &PeerRequest_Ecdh{Ecdh: &ECDHRequest{Header: x.ecdhHdr, Message: x.ecdhReq}}}, &req)
		decode(t, &PeerRequest{Body: &PeerRequest_EcdhReturn{EcdhReturn: &ECDHReturn{Message: x.ecdhRet}}}, &ret)
		var rep PeerResponse
		decode(t, &PeerResponse{Body: &PeerResponse_EcdhReply{EcdhReply: &ECDHReply{Message: x.ecdhRep}}}, &rep)

		h, err := transcript.ParseHeader(req.GetEcdh().GetHeader())
		if err != nil {
			t.Fatal(err)
		}
		var m1 ecdh.Request
		if err := m1.UnmarshalBinary(req.GetEcdh().GetMessage()); err != nil {
			t.Fatal(err)
		}
		if m1.Session != ecdh.NewSessionID(req.GetEcdh().GetHeader()) || len(m1.Masked) != int(h.Count) {
			t.Fatalf("ECDH request does not match its header: %d points, header count %d", len(m1.Masked), h.Count)
		}
		var m2 ecdh.Reply
		if err := m2.UnmarshalBinary(rep.GetEcdhReply().GetMessage()); err != nil {
			t.Fatal(err)
		}
		var m3 ecdh.Return
		if err := m3.UnmarshalBinary(ret.GetEcdhReturn().GetMessage()); err != nil {
			t.Fatal(err)
		}
		if len(m2.Remasked) != x.ecdhSize || len(m3.Remasked) != len(m2.Masked) {
			t.Fatalf("ECDH vectors: %d re-masked, %d returned for %d masked", len(m2.Remasked), len(m3.Remasked), len(m2.Masked))
		}
		enc, err := m2.MarshalBinary()
		if err != nil || !bytes.Equal(enc, x.ecdhRep) {
			t.Fatalf("ECDH reply does not re-encode to the bytes sent: %v", err)
		}
	})
}

// TestUnsetFieldsFindsGaps checks the fixture checker itself: a missing
// scalar, a missing nested field and an empty oneof are all reported.
func TestUnsetFieldsFindsGaps(t *testing.T) {
	tests := []struct {
		name string
		msg  proto.Message
		want []string
	}{
		{"scalar", &GetQueryRequest{}, []string{"riskmesh.v1.GetQueryRequest.query_id"}},
		{"oneof", &PeerRequest{}, []string{"riskmesh.v1.PeerRequest.body"}},
		{"nested", &PeerRequest{Body: &PeerRequest_EcdhReturn{EcdhReturn: &ECDHReturn{}}},
			[]string{"riskmesh.v1.ECDHReturn.message"}},
		{"list element", &ListQueriesResponse{NextPageToken: "p", Queries: []*QuerySummary{{}}},
			[]string{"riskmesh.v1.QuerySummary.query_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := unsetFields(tt.msg.ProtoReflect())
			if len(got) < len(tt.want) || got[0] != tt.want[0] {
				t.Fatalf("unsetFields = %v, want it to start with %v", got, tt.want)
			}
		})
	}
}
