package daemon

import "errors"

var (
	// errNotRegistered: the regulator has not added this institution to the
	// registry yet, so it cannot set its profile.
	errNotRegistered = errors.New("daemon: institution not in the ledger registry yet")
	// errWrongHost: the ledger host's endpoint answered with another
	// certificate than the one configured for it.
	errWrongHost = errors.New("daemon: ledger host endpoint presented another certificate")
	// errBackupDir: a backup's directory does not exist or is not one
	// (FailedPrecondition).
	errBackupDir = errors.New("daemon: backup directory")
	// errBackupExists: a backup file's name is taken; backups never
	// replace a file (AlreadyExists).
	errBackupExists = errors.New("daemon: backup file exists (backups never replace a file)")
)
