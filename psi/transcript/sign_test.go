package transcript

import (
	"errors"
	"testing"

	"github.com/riskmesh/riskmesh/internal/ecsig"
)

func TestSignVerify(t *testing.T) {
	p, other := newParty(t), newParty(t)
	h, req, resp := testExchange(t, ProtocolCatalogOPRF, 2, 0)
	d := digestsOf(t, h, req, resp)

	reqSig, err := SignRequest(p.sign, d.requestDigest)
	if err != nil {
		t.Fatal(err)
	}
	respSig, err := SignResponse(p.sign, d.responseDigest)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("valid", func(t *testing.T) {
		if err := VerifyRequest([][]byte{p.pub}, d.requestDigest, reqSig); err != nil {
			t.Fatal(err)
		}
		if err := VerifyResponse([][]byte{p.pub}, d.responseDigest, respSig); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("request signature on response digest", func(t *testing.T) {
		err := VerifyResponse([][]byte{p.pub}, d.responseDigest, reqSig)
		if !errors.Is(err, ErrResponseSignature) || !errors.Is(err, ecsig.ErrBadSignature) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("other key", func(t *testing.T) {
		if err := VerifyRequest([][]byte{other.pub}, d.requestDigest, reqSig); !errors.Is(err, ErrRequestSignature) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("signer error", func(t *testing.T) {
		fail := errors.New("hsm offline")
		_, err := SignRequest(func([]byte) ([]byte, error) { return nil, fail }, d.requestDigest)
		if !errors.Is(err, fail) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("signer returns oversized signature", func(t *testing.T) {
		_, err := SignResponse(func([]byte) ([]byte, error) { return make([]byte, 100), nil }, d.responseDigest)
		if !errors.Is(err, ErrSignatureSize) {
			t.Fatalf("got %v", err)
		}
	})
}
