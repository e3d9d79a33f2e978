//go:build !cgo

package identity_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/node/identity"
)

// Built without cgo, opening a token is a clear refusal naming the cause,
// never a crash or a silent fall-back to file keys (make lint runs this).
func TestOpenTokenWithoutCgo(t *testing.T) {
	tok, err := identity.OpenToken(identity.TokenConfig{Module: "/usr/lib/softhsm/libsofthsm2.so", Label: "node", PIN: "1234"})
	if tok != nil || !errors.Is(err, identity.ErrToken) || !strings.Contains(err.Error(), "cgo") || strings.Contains(err.Error(), "1234") {
		t.Fatalf("OpenToken without cgo = %v, %v", tok, err)
	}
}
