package identity

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

func TestRotateSigningKey(t *testing.T) {
	dir := generate(t, "Bank1MSP")
	before, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := RotateSigningKey(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	after, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after.SigningKey, pub) || bytes.Equal(pub, before.SigningKey) {
		t.Error("loaded signing key is not the new one")
	}
	digest := sha256.Sum256([]byte("x"))
	sig, err := after.Sign(digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := ecsig.Verify(pub, digest[:], sig); err != nil {
		t.Errorf("new key's signature: %v", err)
	}
	if after.Fingerprint != before.Fingerprint {
		t.Error("signing key rotation changed the TLS certificate")
	}
	assertNoPending(t, dir)
}

func TestRotateTLSCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "id")
	if err := Generate(dir, "Bank1MSP", nil, nil, "node1.bank1.example", "10.1.2.3"); err != nil {
		t.Fatal(err)
	}
	before, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	der, err := RotateTLSCertificate(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	after, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after.Certificate.Certificate[0], der) || after.Fingerprint == before.Fingerprint {
		t.Error("loaded certificate is not the new one")
	}
	if after.MSPID != "Bank1MSP" {
		t.Errorf("MSP id %q after rotation", after.MSPID)
	}
	if !slices.Equal(after.Certificate.Leaf.DNSNames, before.Certificate.Leaf.DNSNames) {
		t.Errorf("DNS names %v, were %v", after.Certificate.Leaf.DNSNames, before.Certificate.Leaf.DNSNames)
	}
	if len(after.Certificate.Leaf.IPAddresses) != len(before.Certificate.Leaf.IPAddresses) {
		t.Errorf("IP addresses %v, were %v", after.Certificate.Leaf.IPAddresses, before.Certificate.Leaf.IPAddresses)
	}
	if !bytes.Equal(after.SigningKey, before.SigningKey) {
		t.Error("TLS rotation changed the signing key")
	}
	assertNoPending(t, dir)
}

// TestInterruptedRotation replays the states a crash can leave a rotation
// in, using another identity's files as the "new" pair.
func TestInterruptedRotation(t *testing.T) {
	pairs := []struct {
		priv, pub string
		loaded    func(*Identity) []byte
	}{
		{SigningKeyFile, SigningPubFile, func(id *Identity) []byte { return id.SigningKey }},
		{TLSKeyFile, TLSCertFile, func(id *Identity) []byte { return id.Certificate.Certificate[0] }},
	}
	copyFile := func(t *testing.T, from, to string) {
		t.Helper()
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range pairs {
		t.Run(p.priv+"/before commit", func(t *testing.T) {
			dir, next := generate(t, "Bank1MSP"), generate(t, "Bank1MSP")
			old, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			copyFile(t, filepath.Join(next, p.priv), filepath.Join(dir, p.priv+pendingSuffix))
			copyFile(t, filepath.Join(next, p.pub), filepath.Join(dir, p.pub+pendingSuffix))
			id, err := Load(dir)
			if err != nil {
				t.Fatalf("Load after an uncommitted rotation: %v", err)
			}
			if !bytes.Equal(p.loaded(id), p.loaded(old)) {
				t.Error("uncommitted rotation took effect")
			}
			assertNoPending(t, dir)
		})
		t.Run(p.priv+"/after commit", func(t *testing.T) {
			dir, next := generate(t, "Bank1MSP"), generate(t, "Bank1MSP")
			want, err := Load(next)
			if err != nil {
				t.Fatal(err)
			}
			copyFile(t, filepath.Join(next, p.pub), filepath.Join(dir, p.pub))
			copyFile(t, filepath.Join(next, p.priv), filepath.Join(dir, p.priv+pendingSuffix))
			id, err := Load(dir)
			if err != nil {
				t.Fatalf("Load after a committed rotation: %v", err)
			}
			if !bytes.Equal(p.loaded(id), p.loaded(want)) {
				t.Error("committed rotation not finished")
			}
			assertNoPending(t, dir)
		})
	}
}

func assertNoPending(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) == pendingSuffix || e.Name()[0] == '.' {
			t.Errorf("leftover file %s", e.Name())
		}
	}
}

// oprfPublic returns the public half of a category's key as loaded, or nil.
func oprfPublic(keys map[string]*oprf.PrivateKey, category string) *oprf.PublicKey {
	if k, ok := keys[category]; ok {
		return k.Public()
	}
	return nil
}

func samePublic(a, b *oprf.PublicKey) bool { return a == nil && b == nil || a != nil && a.Equal(b) }

// Each rotation keeps the key it replaces as the previous one and drops the
// one before; categories whose names end like the key files never share a
// file.
func TestRotateOPRFKeyKeepsPrevious(t *testing.T) {
	cats := []string{"black", "black.key", "black.key.previous", "black.key.new", "black.previous"}
	dir := generate(t, "Bank1MSP", cats...)
	first, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.PreviousOPRFKeys()) != 0 {
		t.Fatal("a generated identity has previous OPRF keys")
	}
	for _, c := range cats {
		if _, err := RotateOPRFKey(dir, c, nil); err != nil {
			t.Fatalf("rotate %s: %v", c, err)
		}
	}
	second, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	newest, err := RotateOPRFKey(dir, "black", nil)
	if err != nil {
		t.Fatal(err)
	}
	third, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("rotated twice", func(t *testing.T) {
		if !samePublic(oprfPublic(third.OPRFKeys(), "black"), newest) {
			t.Error("current key is not the newest")
		}
		if !samePublic(oprfPublic(third.PreviousOPRFKeys(), "black"), oprfPublic(second.OPRFKeys(), "black")) {
			t.Error("previous key is not the one the last rotation replaced")
		}
	})
	for _, c := range cats {
		t.Run(c, func(t *testing.T) {
			if c == "black" {
				t.Skip("rotated twice")
			}
			if !samePublic(oprfPublic(third.PreviousOPRFKeys(), c), oprfPublic(first.OPRFKeys(), c)) {
				t.Error("previous key is not the generated one")
			}
			if !samePublic(oprfPublic(third.OPRFKeys(), c), oprfPublic(second.OPRFKeys(), c)) {
				t.Error("current key changed with another category's rotation")
			}
			if samePublic(oprfPublic(third.OPRFKeys(), c), oprfPublic(first.OPRFKeys(), c)) {
				t.Error("rotation kept the old key as the current one")
			}
		})
	}
	t.Run("files", func(t *testing.T) {
		for _, c := range cats {
			for _, name := range []string{OPRFKeyFile(c), PreviousOPRFKeyFile(c)} {
				st, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %04o, want 0600", name, st.Mode().Perm())
				}
			}
		}
		if len(third.OPRFKeys()) != len(cats) || len(third.PreviousOPRFKeys()) != len(cats) {
			t.Errorf("%d current and %d previous keys, want %d each", len(third.OPRFKeys()), len(third.PreviousOPRFKeys()), len(cats))
		}
		assertNoPending(t, dir)
		m, err := ReadMember(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(m.Roles, accounting.RoleProvider) {
			t.Error("rotated identity no longer reads as a provider")
		}
	})
	t.Run("loose permissions", func(t *testing.T) {
		if err := os.Chmod(filepath.Join(dir, PreviousOPRFKeyFile("black")), 0o640); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir); !errors.Is(err, ErrPermissions) {
			t.Errorf("Load: %v, want ErrPermissions", err)
		}
	})
}

// TestInterruptedOPRFRotation replays every state a crash can leave an OPRF
// rotation in (replaceOPRFKey's steps) over an identity already rotated
// once, and checks that Load lands on the state before or after it, whole.
func TestInterruptedOPRFRotation(t *testing.T) {
	const cat = "black"
	setup := func(t *testing.T) (dir string, older, current, next []byte) {
		t.Helper()
		dir = generate(t, "Bank1MSP", cat, "grey")
		if _, err := RotateOPRFKey(dir, cat, nil); err != nil {
			t.Fatal(err)
		}
		read := func(name string) []byte {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
		key, err := oprf.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		next, err = marshalOPRFKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return dir, read(PreviousOPRFKeyFile(cat)), read(OPRFKeyFile(cat)), next
	}
	write := func(t *testing.T, dir, name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	curPending := OPRFKeyFile(cat) + pendingSuffix
	prevPending := PreviousOPRFKeyFile(cat) + pendingSuffix
	tests := []struct {
		name      string
		crash     func(t *testing.T, dir string, current, next []byte)
		committed bool
	}{
		{"after step 1", func(t *testing.T, dir string, current, next []byte) {
			write(t, dir, prevPending, current)
		}, false},
		{"after step 2", func(t *testing.T, dir string, current, next []byte) {
			write(t, dir, prevPending, current)
			write(t, dir, curPending, next)
		}, false},
		{"new key alone", func(t *testing.T, dir string, current, next []byte) {
			write(t, dir, curPending, next)
		}, false},
		{"after step 3", func(t *testing.T, dir string, current, next []byte) {
			write(t, dir, prevPending, current)
			write(t, dir, OPRFKeyFile(cat), next)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, older, current, next := setup(t)
			grey, err := os.ReadFile(filepath.Join(dir, OPRFKeyFile("grey")))
			if err != nil {
				t.Fatal(err)
			}
			tt.crash(t, dir, current, next)
			id, err := Load(dir)
			if err != nil {
				t.Fatalf("Load after the crash: %v", err)
			}
			wantCur, wantPrev := current, older
			if tt.committed {
				wantCur, wantPrev = next, current
			}
			for _, f := range []struct {
				keys map[string]*oprf.PrivateKey
				want []byte
				what string
			}{
				{id.OPRFKeys(), wantCur, "current"},
				{id.PreviousOPRFKeys(), wantPrev, "previous"},
			} {
				want, err := ParseOPRFKey(f.want)
				if err != nil {
					t.Fatal(err)
				}
				if !samePublic(oprfPublic(f.keys, cat), want.Public()) {
					t.Errorf("%s key after recovery is not the expected one (rotation committed: %v)", f.what, tt.committed)
				}
			}
			greyKey, err := ParseOPRFKey(grey)
			if err != nil {
				t.Fatal(err)
			}
			if !samePublic(oprfPublic(id.OPRFKeys(), "grey"), greyKey.Public()) {
				t.Error("recovery touched another category")
			}
			assertNoPending(t, dir)
			if _, err := RotateOPRFKey(dir, cat, nil); err != nil {
				t.Errorf("rotation after recovery: %v", err)
			}
		})
	}
	t.Run("malformed pending file is left for the operator", func(t *testing.T) {
		dir, _, _, _ := setup(t)
		write(t, dir, prevPending, []byte("not a key"))
		if _, err := Load(dir); !errors.Is(err, ErrMalformed) {
			t.Errorf("Load: %v, want ErrMalformed", err)
		}
		if _, err := os.Stat(filepath.Join(dir, prevPending)); err != nil {
			t.Errorf("pending file removed: %v", err)
		}
	})
}
