package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// rotator records the rotation asked for and answers as a node would.
type rotator struct{ got *riskmeshv1.RotateKeysRequest }

func (r *rotator) RotateKeys(_ context.Context, req *riskmeshv1.RotateKeysRequest) (*riskmeshv1.RotateKeysResponse, error) {
	r.got = req
	return &riskmeshv1.RotateKeysResponse{Kind: req.GetKind(), Category: req.GetCategory(), PublicKey: []byte{1},
		KeyId: []byte{0xab, 0xcd}, EffectivePeriod: 8}, nil
}

// rotate sends the kind and category through the API and prints when the
// key is in use; bad kinds and an OPRF rotation without a category fail.
func TestKeysRotate(t *testing.T) {
	r := &rotator{}
	target := serveAPI(t, api.Config{Keys: r})
	out, err := runRoot(t, "keys", "rotate", "oprf", "--category", "black", "--api", target)
	if err != nil {
		t.Fatal(err)
	}
	if r.got.GetKind() != riskmeshv1.KeyKind_KEY_KIND_OPRF || r.got.GetCategory() != "black" {
		t.Fatalf("request %v", r.got)
	}
	for _, want := range []string{"rotated oprf key of black; in use from period 8", "key id: abcd"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := runRoot(t, "keys", "rotate", "oprf", "--api", target); err == nil || !strings.Contains(err.Error(), "category") {
		t.Errorf("OPRF rotation without a category: %v", err)
	}
	if _, err := runRoot(t, "keys", "rotate", "password", "--api", target); err == nil || !strings.Contains(err.Error(), "unknown key kind") {
		t.Errorf("unknown kind: %v", err)
	}
	out, err = runRoot(t, "keys", "rotate", "signing", "--api", target, "--json")
	if err != nil || r.got.GetKind() != riskmeshv1.KeyKind_KEY_KIND_SIGNING || !regexp.MustCompile(`"effectivePeriod":\s*"8"`).MatchString(out) {
		t.Fatalf("signing --json: %v, %v\n%s", r.got, err, out)
	}
}
