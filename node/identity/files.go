package identity

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/riskmesh/riskmesh/internal/durable"
)

// File names inside an identity directory.
const (
	TLSCertFile    = "tls.crt"
	TLSKeyFile     = "tls.key"
	SigningKeyFile = "signing.key"
	SigningPubFile = "signing.pub"
	oprfKeyPrefix  = "oprf-"
	oprfKeySuffix  = ".key"
	// previousSuffix follows the current key's name, so a category's
	// previous key sits beside its current one. No file name can be taken
	// for another category's: current keys end in ".key", previous ones
	// in ".key.previous", and the rotation's pending files (rotate.go) in
	// ".key.new" and ".key.previous.new", while the category sits between
	// the fixed prefix and one of these endings. A "previous/"
	// subdirectory would be as unambiguous but would need its own mode
	// checks and fsyncs; one directory keeps a rotation's renames and
	// their fsync in one place.
	previousSuffix = ".previous"
)

// MaxFileSize bounds every file this package reads. The largest legitimate
// one, a certificate with a few host names, is under 1 KiB.
const MaxFileSize = 16 << 10

// Permissions of what the package creates.
const (
	dirMode     os.FileMode = 0o700
	privateMode os.FileMode = 0o600
	publicMode  os.FileMode = 0o644
)

// OPRFKeyFile is the file name of the OPRF key for category.
func OPRFKeyFile(category string) string { return oprfKeyPrefix + category + oprfKeySuffix }

// PreviousOPRFKeyFile is the file name of the key RotateOPRFKey replaced
// last for category.
func PreviousOPRFKeyFile(category string) string { return OPRFKeyFile(category) + previousSuffix }

// readFile reads name in dir, at most MaxFileSize bytes. private files must
// not be accessible to group or others: a key that other local users could
// read is refused rather than used, so a mistake in deployment is noticed.
func readFile(dir, name string, private bool) ([]byte, error) {
	path := filepath.Join(dir, name)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrMalformed, path)
	}
	if private && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o, want 0600", ErrPermissions, path, st.Mode().Perm())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: %s exceeds %d bytes", ErrTooLarge, path, MaxFileSize)
	}
	return data, nil
}

// writeFile replaces name in dir atomically (durable.WriteFile).
func writeFile(dir, name string, data []byte, mode os.FileMode) error {
	return durable.WriteFile(filepath.Join(dir, name), data, mode)
}

// syncDir makes dir's entries durable where the platform can sync a
// directory.
func syncDir(dir string) error {
	if err := durable.SyncDir(dir); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// oprfCategories lists the categories with a key file in dir, from the
// file names alone (no key is opened), sorted.
func oprfCategories(dir string) ([]string, error) { return oprfFiles(dir, oprfKeySuffix) }

// oprfFiles lists the categories c with a regular file named
// "oprf-<c>" + suffix in dir, sorted.
func oprfFiles(dir, suffix string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var cats []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, oprfKeyPrefix) || !strings.HasSuffix(name, suffix) {
			continue
		}
		cat := strings.TrimSuffix(strings.TrimPrefix(name, oprfKeyPrefix), suffix)
		if validCategory(cat) {
			cats = append(cats, cat)
		}
	}
	slices.Sort(cats)
	return cats, nil
}
