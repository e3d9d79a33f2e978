// Package identitytest makes node identities for tests, as `riskmesh init
// identity` would: generated keys in a directory, loaded back.
package identitytest

import (
	"testing"

	"github.com/riskmesh/riskmesh/node/identity"
)

// New generates the identity of msp in dir (new or empty), with OPRF keys
// for categories and a TLS certificate naming 127.0.0.1, and loads it.
func New(t testing.TB, dir, msp string, categories ...string) *identity.Identity {
	t.Helper()
	if err := identity.Generate(dir, msp, categories, nil, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	id, err := identity.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
