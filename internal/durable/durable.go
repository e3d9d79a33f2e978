// Package durable holds the file-system steps the node's crash-safe
// writes share: after a file is created or renamed in a directory, the
// directory itself must be synced for the new entry to survive a power
// cut; a small file is replaced whole through a synced temporary file.
package durable

import (
	"errors"
	"os"
	"path/filepath"
)

// WriteFile replaces the file at path atomically: the data goes to a
// temporary file in the same directory with mode, is synced, and is
// renamed over path; the directory is synced so the rename survives a
// crash (where the platform can sync a directory). A crash leaves the old
// file or the new one.
func WriteFile(path string, data []byte, mode os.FileMode) (err error) {
	dir, name := filepath.Split(path)
	dir = filepath.Clean(dir)
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(mode); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if err := SyncDir(dir); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// SyncDir syncs directory dir, making the entries created, renamed or
// removed in it durable. Some platforms cannot sync a directory and
// answer an error wrapping os.ErrInvalid; callers decide whether that is
// acceptable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
