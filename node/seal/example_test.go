package seal_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/riskmesh/riskmesh/node/seal"
)

// A node seals a record at its location with the keyring in its data
// directory; the record opens there and nowhere else.
func Example() {
	dir, err := os.MkdirTemp("", "seal-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	kek := seal.PassphraseKEK("sandbox passphrase")
	ring, err := seal.Create(filepath.Join(dir, seal.KeyringFile), kek, nil)
	if err != nil {
		panic(err)
	}
	sealed, err := ring.Seal("lists/last-good/black-csv", []byte("+8613800138000"))
	if err != nil {
		panic(err)
	}

	// After a restart: the same KEK opens the keyring, and the record.
	ring, err = seal.Open(filepath.Join(dir, seal.KeyringFile), kek)
	if err != nil {
		panic(err)
	}
	plain, err := ring.Open("lists/last-good/black-csv", sealed)
	fmt.Println(string(plain), err)
	_, err = ring.Open("lists/last-good/grey-csv", sealed)
	fmt.Println(err)
	// Output:
	// +8613800138000 <nil>
	// seal: record does not authenticate at its location
}
