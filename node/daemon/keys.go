package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/seal"
)

// KeysConfig says where the node's keys live and how its stored data is
// sealed (node.yaml's keys and at_rest sections).
type KeysConfig struct {
	// HSM is the PKCS#11 token holding keys; nil: none, and a key the
	// identity directory says is in a token refuses to load.
	HSM *identity.TokenConfig
	// Place says where rotated keys are made. Default: files.
	Place identity.Placement
	// AtRest is the KEK of the data-at-rest keyring (DataDir/seal.key):
	// AtRestNone (the default: nothing sealed), AtRestHSM or
	// AtRestPassphrase.
	AtRest string
	// Passphrase derives the KEK with AtRestPassphrase.
	Passphrase []byte
}

// Data-at-rest KEKs.
const (
	AtRestNone       = ""
	AtRestHSM        = "hsm"
	AtRestPassphrase = "passphrase"
)

// errNoToken refuses a configuration that needs a token without one.
var errNoToken = errors.New("daemon: at_rest kek hsm needs a PKCS#11 token (keys.hsm)")

// openKeystore opens the token cfg names, if any, and returns the
// identity directory with it. Close the token (if not nil) when done.
func openKeystore(cfg *Config) (identity.Keystore, error) {
	ks := identity.Keystore{Dir: cfg.IdentityDir, Place: cfg.Keys.Place}
	if cfg.Keys.HSM == nil {
		return ks, nil
	}
	tok, err := identity.OpenToken(*cfg.Keys.HSM)
	if err != nil {
		return ks, fmt.Errorf("daemon: %w", err)
	}
	ks.Token = tok
	return ks, nil
}

// openKeyring opens the data-at-rest keyring in cfg.DataDir, creating it
// if create (on the node's first start with sealing on). A KEK that does not unwrap
// it (a token key gone, a wrong passphrase) is an error: the node refuses
// to start rather than run without its data. nil without sealing.
func openKeyring(cfg *Config, tok *identity.Token, create bool) (*seal.Keyring, error) {
	var kek seal.KEK
	switch cfg.Keys.AtRest {
	case AtRestNone:
		return nil, nil
	case AtRestHSM:
		if tok == nil {
			return nil, errNoToken
		}
		k, err := tok.SealKEK(cfg.MSPID)
		if err != nil {
			return nil, fmt.Errorf("daemon: data-at-rest KEK: %w", err)
		}
		kek = k
	case AtRestPassphrase:
		if len(cfg.Keys.Passphrase) == 0 {
			return nil, errors.New("daemon: at_rest kek passphrase without a passphrase")
		}
		kek = seal.PassphraseKEK(cfg.Keys.Passphrase)
	default:
		return nil, fmt.Errorf("daemon: unknown at_rest kek %q", cfg.Keys.AtRest)
	}
	open := seal.Open
	if create {
		open = seal.OpenOrCreate
	}
	k, err := open(filepath.Join(cfg.DataDir, seal.KeyringFile), kek)
	if err != nil {
		return nil, fmt.Errorf("daemon: data-at-rest keyring: %w", err)
	}
	return k, nil
}

// UnsealBackup writes the plain copy of the sealed backup src (a
// node-<time>.db.sealed or ledger-<time>.db.sealed file Backup wrote with
// sealing on) to dst, which must not exist, with the keyring of the node
// cfg configures: restoring is stopping the node and putting dst in place
// as node.db or ledger.db (docs/operations.md). A copy that was altered,
// cut short or renamed to the other kind does not open.
func UnsealBackup(cfg Config, src, dst string) (err error) {
	kind, _, ok := strings.Cut(filepath.Base(src), "-")
	if !ok || (kind != backupNode && kind != backupLedger) || !strings.HasSuffix(src, sealedSuffix) {
		return fmt.Errorf("%w: %s is not a sealed backup's name (node-TIME.db.sealed or ledger-TIME.db.sealed)", errBackupDir, src)
	}
	ks, err := openKeystore(&cfg)
	if err != nil {
		return err
	}
	if ks.Token != nil {
		defer ks.Token.Close()
	}
	ring, err := openKeyring(&cfg, ks.Token, false)
	if err != nil {
		return err
	}
	if ring == nil {
		return errors.New("daemon: unseal backup: the configuration seals nothing (at_rest.kek)")
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("daemon: unseal backup: %w", err)
	}
	defer in.Close()
	r, err := ring.NewReader(bufio.NewReader(in), backupLocation(kind))
	if err != nil {
		return fmt.Errorf("daemon: unseal backup %s: %w", src, err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("daemon: unseal backup: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	if _, err := io.Copy(out, r); err != nil {
		return fmt.Errorf("daemon: unseal backup %s: %w", src, err)
	}
	return out.Sync()
}
