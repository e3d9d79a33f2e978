package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// writeCopy names a copy only once it is complete and checked, never
// replaces a file, and leaves no temporary file behind.
func TestWriteCopy(t *testing.T) {
	data := []byte("a consistent copy")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	failed := errors.New("copy does not verify")
	tests := []struct {
		name     string
		ctx      context.Context
		existing []byte
		check    func(string) error
		wantErr  error
	}{
		{"Written", context.Background(), nil, nil, nil},
		{"CheckedBeforeNaming", context.Background(), nil, func(tmp string) error {
			if got, err := os.ReadFile(tmp); err != nil || !bytes.Equal(got, data) {
				t.Errorf("check sees %q, %v", got, err)
			}
			return nil
		}, nil},
		{"NameTaken", context.Background(), []byte("keep"), nil, errBackupExists},
		{"CheckFails", context.Background(), nil, func(string) error { return failed }, failed},
		{"Canceled", canceled, nil, nil, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "node-20250101T000000Z.db")
			if tc.existing != nil {
				if err := os.WriteFile(path, tc.existing, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			size, sum, err := writeCopy(tc.ctx, path, bytes.NewReader(data), tc.check, nil)
			entries, _ := os.ReadDir(dir)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("writeCopy = %v, want %v", err, tc.wantErr)
				}
				if got, _ := os.ReadFile(path); tc.existing != nil && !bytes.Equal(got, tc.existing) {
					t.Fatalf("existing file replaced: %q", got)
				}
				want := 0
				if tc.existing != nil {
					want = 1
				}
				if len(entries) != want {
					t.Fatalf("%d files left in the directory, want %d", len(entries), want)
				}
				return
			}
			got, err2 := os.ReadFile(path)
			if err != nil || err2 != nil || !bytes.Equal(got, data) || size != int64(len(data)) || sum != sha256.Sum256(data) {
				t.Fatalf("writeCopy = %d, %x, %v; file %q, %v", size, sum, err, got, err2)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("copy mode %v, %v; want 0600", fi.Mode(), err)
			}
			if len(entries) != 1 {
				t.Fatalf("%d files in the directory, want the copy alone", len(entries))
			}
		})
	}
}
