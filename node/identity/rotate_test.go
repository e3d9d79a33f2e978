package identity

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/riskmesh/riskmesh/internal/ecsig"
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
