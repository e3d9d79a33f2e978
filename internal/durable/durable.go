// Package durable holds the one file-system step the node's crash-safe
// writes share: after a file is created or renamed in a directory, the
// directory itself must be synced for the new entry to survive a power
// cut.
package durable

import "os"

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
