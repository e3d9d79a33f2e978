//go:build !cgo

package identity

import (
	"crypto"
	"crypto/ecdsa"
	"fmt"

	"github.com/riskmesh/riskmesh/node/seal"
)

// Token stands for a PKCS#11 token in a binary built without cgo. PKCS#11
// modules are C libraries, so such a binary cannot open one: OpenToken
// refuses, and node.yaml's file keys (the default) are all it can use.
// The methods below exist so the rest of the package compiles; with no
// Token ever opened, none of them is reached.
type Token struct{}

// OpenToken always fails: this binary was built with CGO_ENABLED=0.
func OpenToken(TokenConfig) (*Token, error) { return nil, errNoCgo }

var errNoCgo = fmt.Errorf("%w: this riskmesh binary was built without cgo, which PKCS#11 modules need (build it with CGO_ENABLED=1 and a C compiler)", ErrToken)

// Close does nothing: no token is open.
func (*Token) Close() error { return nil }

func (*Token) generateKeyPair(string) (crypto.Signer, []byte, error) { return nil, nil, errNoCgo }

func (*Token) keyPair([]byte, *ecdsa.PublicKey) (crypto.Signer, error) { return nil, errNoCgo }

func (*Token) discardKeyPairs(string, []byte) error { return errNoCgo }

func (*Token) oprfKEK(string) (seal.KEK, error) { return nil, errNoCgo }

func (*Token) anyKEK() seal.KEK { return nil }

// SealKEK fails: no token is open.
func (*Token) SealKEK(string) (seal.KEK, error) { return nil, errNoCgo }

// RotateSealKEK fails: no token is open.
func (*Token) RotateSealKEK(string) (seal.KEK, error) { return nil, errNoCgo }

// DiscardSealKEKs fails: no token is open.
func (*Token) DiscardSealKEKs(string, seal.KEK) error { return errNoCgo }
