package identity

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/riskmesh/riskmesh/internal/ecsig"
)

func generate(t *testing.T, msp string, categories ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "id")
	if err := Generate(dir, msp, categories, nil); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return dir
}

func TestGenerateLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "id")
	if err := Generate(dir, "Bank1MSP", []string{"black", "grey"}, nil, "node1.bank1.example", "10.0.0.7"); err != nil {
		t.Fatal(err)
	}
	id, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("msp id", func(t *testing.T) {
		if id.MSPID != "Bank1MSP" {
			t.Errorf("MSPID = %q", id.MSPID)
		}
	})
	t.Run("certificate", func(t *testing.T) {
		leaf := id.Certificate.Leaf
		if id.Fingerprint != sha256.Sum256(id.Certificate.Certificate[0]) {
			t.Error("fingerprint is not SHA-256 of the certificate")
		}
		if !slices.Equal(leaf.DNSNames, []string{"localhost", "node1.bank1.example"}) {
			t.Errorf("DNS names %v", leaf.DNSNames)
		}
		wantIPs := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.ParseIP("10.0.0.7")}
		if len(leaf.IPAddresses) != len(wantIPs) {
			t.Fatalf("IP addresses %v", leaf.IPAddresses)
		}
		for i, ip := range wantIPs {
			if !leaf.IPAddresses[i].Equal(ip) {
				t.Errorf("IP address %d = %v, want %v", i, leaf.IPAddresses[i], ip)
			}
		}
		if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
			t.Errorf("not self-signed: %v", err)
		}
		if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) || !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
			t.Errorf("ext key usage %v", leaf.ExtKeyUsage)
		}
	})
	t.Run("signing", func(t *testing.T) {
		digest := sha256.Sum256([]byte("transcript"))
		sig, err := id.Sign(digest[:])
		if err != nil {
			t.Fatal(err)
		}
		if err := ecsig.Verify(id.SigningKey, digest[:], sig); err != nil {
			t.Errorf("signature does not verify against SigningKey: %v", err)
		}
	})
	t.Run("oprf keys", func(t *testing.T) {
		keys := id.OPRFKeys()
		if len(keys) != 2 {
			t.Fatalf("%d OPRF keys, want 2", len(keys))
		}
		black, ok := id.OPRFKey("black")
		if !ok || black != keys["black"] {
			t.Error("OPRFKey(black) missing or differs from OPRFKeys")
		}
		if black.Public().Equal(keys["grey"].Public()) {
			t.Error("two categories share a key")
		}
		if _, ok := id.OPRFKey("yellow"); ok {
			t.Error("OPRFKey(yellow) found")
		}
	})
	t.Run("file modes", func(t *testing.T) {
		want := map[string]fs.FileMode{
			".": 0o700, TLSCertFile: 0o644, TLSKeyFile: 0o600, SigningKeyFile: 0o600,
			SigningPubFile: 0o644, OPRFKeyFile("black"): 0o600, OPRFKeyFile("grey"): 0o600,
		}
		for name, mode := range want {
			st, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != mode {
				t.Errorf("%s: mode %04o, want %04o", name, st.Mode().Perm(), mode)
			}
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != len(want)-1 {
			t.Errorf("%d files in the directory, want %d (temporary files left?)", len(entries), len(want)-1)
		}
	})
}

func TestGenerateRefusesExisting(t *testing.T) {
	dir := generate(t, "Bank1MSP")
	before, err := os.ReadFile(filepath.Join(dir, TLSKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := Generate(dir, "Bank1MSP", nil, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("second Generate: %v, want ErrExists", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, TLSKeyFile))
	if string(before) != string(after) {
		t.Error("TLS key overwritten")
	}
}

func TestGenerateInvalidInput(t *testing.T) {
	tests := []struct {
		name       string
		msp        string
		categories []string
		hosts      []string
		want       error
	}{
		{"empty msp", "", nil, nil, ErrMSPID},
		{"msp with slash", "Bank/1", nil, nil, ErrMSPID},
		{"bad category", "Bank1MSP", []string{"black|grey"}, nil, ErrCategory},
		{"duplicate category", "Bank1MSP", []string{"black", "black"}, nil, ErrCategory},
		{"host with space", "Bank1MSP", nil, []string{"a b"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "id")
			err := Generate(dir, tt.msp, tt.categories, nil, tt.hosts...)
			if err == nil {
				t.Fatal("Generate succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Error("directory created for invalid input")
			}
		})
	}
}

func TestLoadRefusesLooseKeyPermissions(t *testing.T) {
	for _, name := range []string{TLSKeyFile, SigningKeyFile, OPRFKeyFile("black")} {
		for _, mode := range []fs.FileMode{0o640, 0o604, 0o620} {
			t.Run(name+"/"+mode.String(), func(t *testing.T) {
				dir := generate(t, "Bank1MSP", "black")
				if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
					t.Fatal(err)
				}
				if _, err := Load(dir); !errors.Is(err, ErrPermissions) {
					t.Errorf("Load: %v, want ErrPermissions", err)
				}
			})
		}
	}
}

func TestLoadRefusesMismatchedFiles(t *testing.T) {
	for _, name := range []string{TLSKeyFile, TLSCertFile, SigningKeyFile, SigningPubFile} {
		t.Run(name, func(t *testing.T) {
			dir := generate(t, "Bank1MSP")
			other := generate(t, "Bank1MSP")
			data, err := os.ReadFile(filepath.Join(other, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(dir); !errors.Is(err, ErrMismatch) {
				t.Errorf("Load: %v, want ErrMismatch", err)
			}
		})
	}
}

func TestLoadRefusesBadFiles(t *testing.T) {
	valid := generate(t, "Bank1MSP", "black")
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(valid, name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	tests := []struct {
		name    string
		file    string
		content []byte
		want    error
	}{
		{"certificate with trailing block", TLSCertFile, append(read(TLSCertFile), read(TLSCertFile)...), ErrMalformed},
		{"key where certificate expected", TLSCertFile, read(TLSKeyFile), ErrMalformed},
		{"not PEM", SigningKeyFile, []byte("hello"), ErrMalformed},
		{"PEM headers", SigningPubFile, []byte("-----BEGIN PUBLIC KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END PUBLIC KEY-----\n"), ErrMalformed},
		{"OPRF key of zeros", OPRFKeyFile("black"), encodePEM(pemOPRFKey, make([]byte, 32)), ErrMalformed},
		{"OPRF key too short", OPRFKeyFile("black"), encodePEM(pemOPRFKey, make([]byte, 31)), ErrMalformed},
		{"oversized", TLSCertFile, make([]byte, MaxFileSize+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := generate(t, "Bank1MSP", "black")
			if err := os.WriteFile(filepath.Join(dir, tt.file), tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(dir); !errors.Is(err, tt.want) {
				t.Errorf("Load: %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		dir := generate(t, "Bank1MSP")
		os.Remove(filepath.Join(dir, SigningPubFile))
		if _, err := Load(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load: %v, want ErrNotExist", err)
		}
	})
}

func TestAddRotateOPRFKey(t *testing.T) {
	dir := generate(t, "Bank1MSP", "black")
	before, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := AddOPRFKey(dir, "black", nil); !errors.Is(err, ErrExists) {
		t.Errorf("AddOPRFKey(existing): %v, want ErrExists", err)
	}
	if _, err := RotateOPRFKey(dir, "grey", nil); !errors.Is(err, ErrNoOPRFKey) {
		t.Errorf("RotateOPRFKey(missing): %v, want ErrNoOPRFKey", err)
	}
	if _, err := AddOPRFKey(dir, "../x", nil); !errors.Is(err, ErrCategory) {
		t.Errorf("AddOPRFKey(../x): %v, want ErrCategory", err)
	}

	greyPub, err := AddOPRFKey(dir, "grey", nil)
	if err != nil {
		t.Fatal(err)
	}
	blackPub, err := RotateOPRFKey(dir, "black", nil)
	if err != nil {
		t.Fatal(err)
	}
	after, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	grey, _ := after.OPRFKey("grey")
	black, _ := after.OPRFKey("black")
	oldBlack, _ := before.OPRFKey("black")
	if !grey.Public().Equal(greyPub) {
		t.Error("added key on disk differs from the returned public key")
	}
	if !black.Public().Equal(blackPub) {
		t.Error("rotated key on disk differs from the returned public key")
	}
	if black.Public().Equal(oldBlack.Public()) {
		t.Error("rotation kept the old key")
	}
	if prev := after.PreviousOPRFKeys(); len(prev) != 1 || !prev["black"].Public().Equal(oldBlack.Public()) {
		t.Error("rotation did not keep the replaced key as the previous one")
	}
	if after.Fingerprint != before.Fingerprint {
		t.Error("OPRF key changes touched the TLS certificate")
	}
}

// failingReader yields n bytes, then fails.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("entropy exhausted")
	}
	k := min(len(p), r.n)
	clear(p[:k])
	p[0] = 1 // a non-zero scalar
	r.n -= k
	return k, nil
}

func TestGenerateCleansUpAfterFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "id")
	// Enough for the first OPRF key, not the second.
	if err := Generate(dir, "Bank1MSP", []string{"black", "grey"}, &failingReader{n: 64}); err == nil {
		t.Fatal("Generate succeeded with a failing random source")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("%d files left after a failed Generate", len(entries))
	}
	if err := Generate(dir, "Bank1MSP", []string{"black", "grey"}, nil); err != nil {
		t.Errorf("Generate after a failed attempt: %v", err)
	}
}
