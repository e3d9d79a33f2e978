package seal_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/riskmesh/riskmesh/node/seal"
)

// fixedKEK wraps with XChaCha20-Poly1305 under a fixed key: a KEK as cheap
// as a token's, for the tests of records and streams (Argon2id's 64 MiB
// per derivation, under the race detector, would dominate them). The
// passphrase KEK has its own tests.
type fixedKEK [chacha20poly1305.KeySize]byte

func (fixedKEK) Kind() byte { return 0x7f }

func (k fixedKEK) Wrap(r io.Reader, dataKey, ad []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(k[:])
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(r, nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, dataKey, ad), nil
}

func (k fixedKEK) Unwrap(wrapped, ad []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(k[:])
	if err != nil {
		return nil, err
	}
	if len(wrapped) < aead.NonceSize() {
		return nil, seal.ErrMalformed
	}
	key, err := aead.Open(nil, wrapped[:aead.NonceSize()], wrapped[aead.NonceSize():], ad)
	if err != nil {
		return nil, seal.ErrKEK
	}
	return key, nil
}

// newKeyring creates a keyring under a KEK derived from name in a fresh
// directory and returns it with its path.
func newKeyring(t testing.TB, name string) (*seal.Keyring, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), seal.KeyringFile)
	k, err := seal.Create(path, fixedKEK(sha256.Sum256([]byte(name))), nil)
	if err != nil {
		t.Fatal(err)
	}
	return k, path
}

func TestRecords(t *testing.T) {
	k, path := newKeyring(t, "correct horse")
	msg := []byte("+8613800138000")
	sealed, err := k.Seal("lists/last-good/bank-a", msg)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, msg) {
		t.Fatal("the sealed record holds the plaintext")
	}
	if got, err := k.Open("lists/last-good/bank-a", sealed); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	again, err := k.Seal("lists/last-good/bank-a", msg)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of one record are equal: the nonce is not fresh")
	}

	t.Run("reopened keyring opens it", func(t *testing.T) {
		k2, err := seal.Open(path, fixedKEK(sha256.Sum256([]byte("correct horse"))))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := k2.Open("lists/last-good/bank-a", sealed); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("Open after reopening = %q, %v", got, err)
		}
	})
	t.Run("another location", func(t *testing.T) {
		if _, err := k.Open("lists/last-good/bank-b", sealed); !errors.Is(err, seal.ErrOpen) {
			t.Fatalf("moved record: %v, want ErrOpen", err)
		}
	})
	t.Run("every byte altered", func(t *testing.T) {
		for i := range sealed {
			bad := bytes.Clone(sealed)
			bad[i] ^= 0x01
			if _, err := k.Open("lists/last-good/bank-a", bad); err == nil {
				t.Fatalf("record with byte %d altered opened", i)
			}
		}
	})
	t.Run("truncated", func(t *testing.T) {
		for n := range len(sealed) {
			if _, err := k.Open("lists/last-good/bank-a", sealed[:n]); err == nil {
				t.Fatalf("record cut to %d bytes opened", n)
			}
		}
	})
	t.Run("another data key", func(t *testing.T) {
		other, _ := newKeyring(t, "correct horse")
		if _, err := other.Open("lists/last-good/bank-a", sealed); !errors.Is(err, seal.ErrOtherKey) {
			t.Fatalf("record under another data key: %v, want ErrOtherKey", err)
		}
	})
}

func TestKeyring(t *testing.T) {
	path := filepath.Join(t.TempDir(), seal.KeyringFile)
	k, err := seal.Create(path, seal.PassphraseKEK("first"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := k.Seal("backup/node", []byte("journal"))
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("another kind of KEK", func(t *testing.T) {
		if _, err := seal.Open(path, fixedKEK{}); !errors.Is(err, seal.ErrKEK) {
			t.Fatalf("another kind of KEK: %v, want ErrKEK", err)
		}
	})
	t.Run("wrong passphrase", func(t *testing.T) {
		if _, err := seal.Open(path, seal.PassphraseKEK("second")); !errors.Is(err, seal.ErrKEK) {
			t.Fatalf("wrong passphrase: %v, want ErrKEK", err)
		}
	})
	t.Run("no keyring", func(t *testing.T) {
		if _, err := seal.Open(filepath.Join(t.TempDir(), seal.KeyringFile), seal.PassphraseKEK("first")); !errors.Is(err, seal.ErrNoKeyring) {
			t.Fatalf("missing keyring: %v, want ErrNoKeyring", err)
		}
	})
	t.Run("create refuses to replace", func(t *testing.T) {
		if _, err := seal.Create(path, seal.PassphraseKEK("first"), nil); !errors.Is(err, seal.ErrExists) {
			t.Fatalf("Create over a keyring: %v, want ErrExists", err)
		}
	})
	t.Run("KEK rotation re-wraps, records unchanged", func(t *testing.T) {
		if err := seal.Rewrap(path, seal.PassphraseKEK("first"), seal.PassphraseKEK("second"), nil); err != nil {
			t.Fatal(err)
		}
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(before, after) {
			t.Fatal("Rewrap left the keyring as it was")
		}
		if _, err := seal.Open(path, seal.PassphraseKEK("first")); !errors.Is(err, seal.ErrKEK) {
			t.Fatalf("old KEK after rotation: %v, want ErrKEK", err)
		}
		k2, err := seal.Open(path, seal.PassphraseKEK("second"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := k2.Open("backup/node", sealed); err != nil || string(got) != "journal" {
			t.Fatalf("record after KEK rotation: %q, %v", got, err)
		}
	})
	t.Run("damaged keyring", func(t *testing.T) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range [][]byte{nil, data[:len(data)-1], append(bytes.Clone(data), 0), []byte("riskmesh keyring v1\n\x01")} {
			p := filepath.Join(t.TempDir(), "k")
			if err := os.WriteFile(p, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := seal.Open(p, seal.PassphraseKEK("second")); !errors.Is(err, seal.ErrMalformed) {
				t.Errorf("damaged keyring of %d bytes: %v, want ErrMalformed", len(bad), err)
			}
		}
	})
}

func TestStream(t *testing.T) {
	k, _ := newKeyring(t, "pass")
	for _, size := range []int{0, 1, seal.ChunkSize - 1, seal.ChunkSize, seal.ChunkSize + 1, 3*seal.ChunkSize + 17} {
		msg := make([]byte, size)
		rand.Read(msg)
		var buf bytes.Buffer
		w, err := k.NewWriter(&buf, "backup/node")
		if err != nil {
			t.Fatal(err)
		}
		// Odd write sizes cross chunk boundaries.
		for p := msg; len(p) > 0; {
			n := min(len(p), 1000+size%7)
			if _, err := w.Write(p[:n]); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		sealed := buf.Bytes()
		open := func(b []byte, loc string) ([]byte, error) {
			r, err := k.NewReader(bytes.NewReader(b), loc)
			if err != nil {
				return nil, err
			}
			return io.ReadAll(r)
		}
		if got, err := open(sealed, "backup/node"); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("size %d: round trip failed: %v", size, err)
		}
		if _, err := open(sealed, "backup/ledger"); !errors.Is(err, seal.ErrOpen) {
			t.Fatalf("size %d: another location: %v, want ErrOpen", size, err)
		}
		// Cutting the stream anywhere, in particular at a chunk
		// boundary, must not open as a shorter stream.
		const chunk = seal.ChunkSize + 16
		const header = 1 + 8 + 16 // version, data key id, nonce prefix
		for _, cut := range []int{header, header + chunk, header + 2*chunk, len(sealed) - 1} {
			if cut < header || cut >= len(sealed) {
				continue
			}
			if _, err := open(sealed[:cut], "backup/node"); err == nil {
				t.Fatalf("size %d: stream cut at %d of %d opened", size, cut, len(sealed))
			}
		}
		if size > 2*seal.ChunkSize {
			// Swap the first two chunks.
			swapped := bytes.Clone(sealed)
			copy(swapped[header:], sealed[header+chunk:header+2*chunk])
			copy(swapped[header+chunk:], sealed[header:header+chunk])
			if _, err := open(swapped, "backup/node"); !errors.Is(err, seal.ErrOpen) {
				t.Fatalf("size %d: reordered chunks: %v, want ErrOpen", size, err)
			}
		}
	}
}
