package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
)

// ledgerFile makes an embedded ledger with a few transactions and returns
// its path, the head after the first transaction and the final head.
func ledgerFile(t *testing.T) (path string, first, last accounting.LogHead) {
	t.Helper()
	ctx := context.Background()
	path = filepath.Join(t.TempDir(), "ledger.db")
	store, err := accounting.OpenEmbedded(path, accounting.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	reg, err := store.As(accounting.DefaultRegulator)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		msp := fmt.Sprintf("Bank%dMSP", i)
		if err := reg.AddInstitution(ctx, msp, msp, []accounting.Role{accounting.RoleRequester}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if first, err = store.VerifyLog(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if last, err = store.VerifyLog(ctx); err != nil {
		t.Fatal(err)
	}
	return path, first, last
}

// copyLedger copies a closed ledger file to a new path, applying change to
// its log bucket.
func copyLedger(t *testing.T, from string, change func(log *bolt.Bucket) error) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "copy.db")
	src, err := bolt.Open(from, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	err = src.View(func(tx *bolt.Tx) error { return tx.CopyFile(to, 0o600) })
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	dst, err := bolt.Open(to, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := dst.Update(func(tx *bolt.Tx) error { return change(tx.Bucket([]byte("log"))) }); err != nil {
		t.Fatal(err)
	}
	return to
}

func TestLedgerVerifyLog(t *testing.T) {
	path, first, last := ledgerFile(t)
	head := last.String()
	wrong := last
	wrong.Hash[31] ^= 1
	tampered := copyLedger(t, path, func(log *bolt.Bucket) error {
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], 2)
		v := bytes.Clone(log.Get(k[:]))
		v[len(v)-1] ^= 1
		return log.Put(k[:], v)
	})

	for _, tc := range []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{"Verifies", []string{path}, "log verifies: head " + head, ""},
		{"SameHead", []string{path, "--head", head}, "runs through " + head, ""},
		{"EarlierHead", []string{path, "--head", first.String()}, "runs through " + first.String(), ""},
		{"WrongHash", []string{path, "--head", wrong.String()}, "", "does not verify"},
		{"HeadBeyondTheLog", []string{path, "--head", fmt.Sprintf("%d:%x", last.Sequence+1, last.Hash)}, "", "before the expected head"},
		{"MalformedHead", []string{path, "--head", "5"}, "", "want SEQ:HEX"},
		{"ShortHash", []string{path, "--head", "5:abcd"}, "", "64-digit hash"},
		{"TamperedCopy", []string{tampered}, "", "does not verify"},
		{"MissingFile", []string{filepath.Join(t.TempDir(), "none.db")}, "", "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runRoot(t, append([]string{"ledger", "verify-log"}, tc.args...)...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !strings.Contains(out, tc.wantOut) {
				t.Fatalf("%v; output lacks %q:\n%s", err, tc.wantOut, out)
			}
		})
	}

	t.Run("LiveFile", func(t *testing.T) {
		store, err := accounting.OpenEmbedded(path, accounting.EmbeddedConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		_, err = runRoot(t, "ledger", "verify-log", path)
		if err == nil || !strings.Contains(err.Error(), "locked by a running process") {
			t.Fatalf("verify-log of a file the ledger holds: %v", err)
		}
	})
	if _, err := runRoot(t, "ledger", "verify-log", tampered); !errors.Is(err, accounting.ErrLogTampered) {
		t.Fatalf("tampered copy: %v, want ErrLogTampered", err)
	}
}
