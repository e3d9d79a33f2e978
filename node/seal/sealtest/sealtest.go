// Package sealtest makes data-at-rest keyrings for tests of the stores
// that seal what they keep (node/seal).
package sealtest

import (
	"path/filepath"
	"testing"

	"github.com/riskmesh/riskmesh/node/seal"
)

// Keyring creates a keyring in a temporary directory, wrapped under the
// passphrase "sandbox", for one test.
func Keyring(t testing.TB) *seal.Keyring {
	t.Helper()
	ring, err := seal.Create(filepath.Join(t.TempDir(), seal.KeyringFile), seal.PassphraseKEK("sandbox"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}
