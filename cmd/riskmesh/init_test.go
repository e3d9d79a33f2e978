package main

import (
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/identity/identitytest"
)

func TestInitIdentity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bank1")
	out, err := runRoot(t, "init", "identity", "--dir", dir, "--msp", "Bank1MSP", "--category", "black", "--category", "grey", "--host", "node1.bank1.example")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	id, err := identity.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"identity for Bank1MSP", id.Fingerprint.String(), "oprf key id black:", "oprf key id grey:", "tls.crt"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, ok := id.OPRFKey("grey"); !ok {
		t.Error("no grey OPRF key")
	}
	if !strings.Contains(strings.Join(id.Certificate.Leaf.DNSNames, " "), "node1.bank1.example") {
		t.Errorf("host missing from the certificate: %v", id.Certificate.Leaf.DNSNames)
	}

	t.Run("refuses to overwrite", func(t *testing.T) {
		if _, err := runRoot(t, "init", "identity", "--dir", dir, "--msp", "Bank1MSP"); err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Errorf("second init: %v", err)
		}
	})
	t.Run("requires msp", func(t *testing.T) {
		if _, err := runRoot(t, "init", "identity", "--dir", filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(err.Error(), "msp") {
			t.Errorf("init without --msp: %v", err)
		}
	})
	t.Run("bad category", func(t *testing.T) {
		if _, err := runRoot(t, "init", "identity", "--dir", filepath.Join(t.TempDir(), "x"), "--msp", "A", "--category", "a/b"); err == nil || !strings.Contains(err.Error(), "invalid category") {
			t.Errorf("init with a bad category: %v", err)
		}
	})
}

func TestInitConsortium(t *testing.T) {
	base := t.TempDir()
	bank, lender := filepath.Join(base, "bank1"), filepath.Join(base, "lender2")
	if _, err := runRoot(t, "init", "identity", "--dir", bank, "--msp", "Bank1MSP", "--category", "black"); err != nil {
		t.Fatal(err)
	}
	if _, err := runRoot(t, "init", "identity", "--dir", lender, "--msp", "Lender2MSP"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(base, "consortium.yaml")
	out, err := runRoot(t, "init", "consortium", "--out", file, bank, lender)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "2 members") {
		t.Errorf("output %q", out)
	}
	c, err := identity.LoadConsortium(file)
	if err != nil {
		t.Fatal(err)
	}
	bankID, err := identity.Load(bank)
	if err != nil {
		t.Fatal(err)
	}
	if msp, err := c.Authorize(bankID.Fingerprint); err != nil || msp != "Bank1MSP" {
		t.Errorf("consortium admits the bank's certificate as %q, %v", msp, err)
	}

	t.Run("refuses to overwrite", func(t *testing.T) {
		if _, err := runRoot(t, "init", "consortium", "--out", file, lender); err == nil || !strings.Contains(err.Error(), "--force") {
			t.Errorf("second write: %v", err)
		}
		if _, err := runRoot(t, "init", "consortium", "--out", file, "--force", lender); err != nil {
			t.Errorf("--force: %v", err)
		}
		c, err := identity.LoadConsortium(file)
		if err != nil || len(c.Members()) != 1 {
			t.Errorf("replaced file: %v", err)
		}
	})
	t.Run("same member twice", func(t *testing.T) {
		if _, err := runRoot(t, "init", "consortium", "--out", filepath.Join(base, "dup.yaml"), bank, bank); err == nil || !strings.Contains(err.Error(), "twice") {
			t.Errorf("duplicate member: %v", err)
		}
		if _, err := os.Stat(filepath.Join(base, "dup.yaml")); err == nil {
			t.Error("file written despite the error")
		}
	})
	t.Run("not an identity", func(t *testing.T) {
		if _, err := runRoot(t, "init", "consortium", "--out", filepath.Join(base, "x.yaml"), base); err == nil {
			t.Error("a directory without an identity was accepted")
		}
	})
}

// init identity with --hsm-module makes every key in the token: the key
// files name token objects, the identity loads only with the token open
// and signs there; a wrong PIN is refused before anything is written.
func TestInitIdentityInToken(t *testing.T) {
	tokCfg := identitytest.SoftHSM(t, "init")
	t.Setenv("TEST_INIT_PIN", tokCfg.PIN)
	dir := filepath.Join(t.TempDir(), "bank1")
	hsm := []string{"--hsm-module", tokCfg.Module, "--hsm-token", "init", "--hsm-pin-env", "TEST_INIT_PIN"}
	out, err := runRoot(t, append([]string{"init", "identity", "--dir", dir, "--msp", "Bank1MSP", "--category", "black"}, hsm...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := identity.Load(dir); !errors.Is(err, identity.ErrToken) {
		t.Fatalf("token identity loaded without the token: %v, want identity.ErrToken", err)
	}
	for _, f := range []string{identity.SigningKeyFile, identity.TLSKeyFile} {
		if data, err := os.ReadFile(filepath.Join(dir, f)); err != nil || !strings.Contains(string(data), "PKCS11") {
			t.Errorf("%s is not a token reference (%v):\n%s", f, err, data)
		}
	}
	tok, err := identity.OpenToken(tokCfg)
	if err != nil {
		t.Fatal(err)
	}
	id, err := identity.Keystore{Dir: dir, Token: tok}.Load()
	if err != nil {
		tok.Close()
		t.Fatal(err)
	}
	if !strings.Contains(out, id.Fingerprint.String()) {
		t.Errorf("output lacks the fingerprint %s:\n%s", id.Fingerprint, out)
	}
	digest := sha256.Sum256([]byte("transcript"))
	sig, err := id.Sign(digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := ecsig.Verify(id.SigningKey, digest[:], sig); err != nil {
		t.Fatalf("token signature: %v", err)
	}
	// PKCS#11 logs the whole process in: the PIN is checked again only
	// once no session of the token is open.
	if err := tok.Close(); err != nil {
		t.Fatal(err)
	}

	t.Setenv("TEST_INIT_PIN", "000000")
	other := filepath.Join(t.TempDir(), "bank2")
	if _, err := runRoot(t, append([]string{"init", "identity", "--dir", other, "--msp", "Bank2MSP"}, hsm...)...); err == nil || strings.Contains(err.Error(), "000000") {
		t.Fatalf("wrong PIN: %v, want a refusal that does not show the PIN", err)
	}
	if _, err := os.Stat(other); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused init left %s: %v", other, err)
	}
	if _, err := runRoot(t, "init", "identity", "--dir", other, "--msp", "Bank2MSP", "--hsm-module", tokCfg.Module); err == nil || !strings.Contains(err.Error(), "--hsm-token") {
		t.Errorf("--hsm-module alone: %v", err)
	}
}
