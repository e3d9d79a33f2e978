package daemon

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/riskmesh/riskmesh/node/identity/identitytest"
	"github.com/riskmesh/riskmesh/node/seal"
)

// openRing opens cfg's keyring as a start does, creating it if create.
func openRing(t *testing.T, cfg Config, create bool) (*seal.Keyring, error) {
	t.Helper()
	ks, err := openKeystore(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ks.Token != nil {
		defer ks.Token.Close()
	}
	return openKeyring(&cfg, ks.Token, create)
}

// TestRotateKEK re-wraps a keyring through every kind of KEK on a SoftHSM2
// token: token key to new token key, token to passphrase, passphrase to
// passphrase and back to the token. After each rotation a record sealed
// at the start still opens under the new KEK, and a copy of the keyring
// as it was before does not open any more wherever the replaced KEK was a
// token key (it was destroyed). A rotation under a KEK that does not
// unwrap the keyring is refused and leaves it unchanged.
func TestRotateKEK(t *testing.T) {
	tokCfg := identitytest.SoftHSM(t, "kek")
	dir := t.TempDir()
	onToken := Config{MSPID: "Bank1MSP", DataDir: dir, Keys: KeysConfig{HSM: &tokCfg, AtRest: AtRestHSM}}
	withPass := func(p string) Config {
		c := onToken
		c.Keys.AtRest, c.Keys.Passphrase = AtRestPassphrase, []byte(p)
		return c
	}
	path := filepath.Join(dir, seal.KeyringFile)
	ring, err := openRing(t, onToken, true)
	if err != nil {
		t.Fatal(err)
	}
	record, err := ring.Seal("db/requester/queries/q-1", []byte("a query record"))
	if err != nil {
		t.Fatal(err)
	}
	opens := func(t *testing.T, cfg Config) {
		t.Helper()
		ring, err := openRing(t, cfg, false)
		if err != nil {
			t.Fatalf("after rotation: %v", err)
		}
		if got, err := ring.Open("db/requester/queries/q-1", record); err != nil || string(got) != "a query record" {
			t.Fatalf("record after rotation: %q, %v", got, err)
		}
	}
	// rotate rotates from cfg to the KEK to names and checks the
	// replaced keyring opens under cfg no more if its KEK was retired.
	rotate := func(t *testing.T, cfg Config, to, pass string, retired bool) {
		t.Helper()
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := RotateKEK(cfg, to, []byte(pass)); err != nil {
			t.Fatal(err)
		}
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !retired {
			return
		}
		if err := os.WriteFile(path, before, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := openRing(t, cfg, false); !errors.Is(err, seal.ErrKEK) {
			t.Errorf("the keyring as wrapped by the replaced token key: %v, want seal.ErrKEK (key destroyed)", err)
		}
		if err := os.WriteFile(path, after, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("token to new token key", func(t *testing.T) {
		rotate(t, onToken, AtRestHSM, "", true)
		opens(t, onToken)
	})
	t.Run("token to passphrase", func(t *testing.T) {
		rotate(t, onToken, AtRestPassphrase, "first", true)
		opens(t, withPass("first"))
		if _, err := openRing(t, onToken, false); !errors.Is(err, seal.ErrKEK) {
			t.Fatalf("token KEK after moving to a passphrase: %v, want seal.ErrKEK", err)
		}
	})
	t.Run("lost KEK refused", func(t *testing.T) {
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := RotateKEK(withPass("not it"), AtRestPassphrase, []byte("second")); !errors.Is(err, seal.ErrKEK) {
			t.Fatalf("rotation under a wrong passphrase: %v, want seal.ErrKEK", err)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
			t.Fatal("a refused rotation changed the keyring")
		}
		opens(t, withPass("first"))
	})
	t.Run("passphrase to passphrase", func(t *testing.T) {
		rotate(t, withPass("first"), AtRestPassphrase, "second", false)
		opens(t, withPass("second"))
		if _, err := openRing(t, withPass("first"), false); !errors.Is(err, seal.ErrKEK) {
			t.Fatalf("old passphrase after rotation: %v, want seal.ErrKEK", err)
		}
	})
	t.Run("passphrase to token", func(t *testing.T) {
		rotate(t, withPass("second"), AtRestHSM, "", false)
		opens(t, onToken)
	})
}
