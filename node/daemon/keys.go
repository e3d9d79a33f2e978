package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	kek, err := atRestKEK(cfg, tok)
	if kek == nil || err != nil {
		return nil, err
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

// warnPlainOPRFKeys warns when stored data is sealed while OPRF keys are
// plain files (a sandbox's file keys with a passphrase KEK, say): a copy
// of the disk then holds what tests guessed identifiers against the
// catalogs, whatever the sealing (docs/threat-model.md, "Catalogs at
// rest"). The warning names the KEK kind and the categories, nothing
// secret.
func warnPlainOPRFKeys(log *slog.Logger, atRest string, id *identity.Identity) {
	plain := id.PlainOPRFKeys()
	if atRest == AtRestNone || len(plain) == 0 {
		return
	}
	log.Warn("stored data is sealed but OPRF keys are plain files: a copy of the disk can test guessed identifiers against these categories' catalogs; "+
		"place them in the token (keys.oprf: hsm, then rotate each; docs/operations.md, Keys in an HSM)",
		slog.String("kek", atRest), slog.Any("categories", plain))
}

// atRestKEK is the KEK cfg.Keys.AtRest names, nil for AtRestNone.
func atRestKEK(cfg *Config, tok *identity.Token) (seal.KEK, error) {
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
		return k, nil
	case AtRestPassphrase:
		if len(cfg.Keys.Passphrase) == 0 {
			return nil, errors.New("daemon: at_rest kek passphrase without a passphrase")
		}
		return seal.PassphraseKEK(cfg.Keys.Passphrase), nil
	default:
		return nil, fmt.Errorf("daemon: unknown at_rest kek %q", cfg.Keys.AtRest)
	}
}

// RotateKEK re-wraps the data-at-rest keyring of the node cfg configures
// under a new KEK of kind to (AtRestHSM: a new key in the token;
// AtRestPassphrase: passphrase), without touching any sealed record
// (docs/operations.md, "Rotating the key-encryption key"). The keyring must
// open under the configured KEK first: a lost KEK is refused and the
// keyring left as it is. The token's replaced keyring keys are destroyed
// only once the new wrapping is in place; if that step fails the keyring
// already opens under the new KEK, and the next rotation destroys them.
// When to differs from at_rest.kek, node.yaml must be changed to it
// before the next start.
func RotateKEK(cfg Config, to string, passphrase []byte) error {
	ks, err := openKeystore(&cfg)
	if err != nil {
		return err
	}
	if ks.Token != nil {
		defer ks.Token.Close()
	}
	old, err := atRestKEK(&cfg, ks.Token)
	if err != nil {
		return err
	}
	if old == nil {
		return errors.New("daemon: rotate KEK: the configuration seals nothing (at_rest.kek)")
	}
	var next seal.KEK
	switch to {
	case AtRestHSM:
		if ks.Token == nil {
			return errNoToken
		}
		if next, err = ks.Token.RotateSealKEK(cfg.MSPID); err != nil {
			return fmt.Errorf("daemon: rotate KEK: %w", err)
		}
	case AtRestPassphrase:
		if len(passphrase) == 0 {
			return errors.New("daemon: rotate KEK: the new passphrase is empty")
		}
		next = seal.PassphraseKEK(passphrase)
	default:
		return fmt.Errorf("daemon: rotate KEK: unknown KEK %q (hsm or passphrase)", to)
	}
	if err := seal.Rewrap(filepath.Join(cfg.DataDir, seal.KeyringFile), old, next, nil); err != nil {
		return fmt.Errorf("daemon: rotate KEK: %w", err)
	}
	if cfg.Keys.AtRest != AtRestHSM && to != AtRestHSM {
		return nil
	}
	keep := next
	if to != AtRestHSM {
		keep = nil // the token wraps the keyring no longer
	}
	if err := ks.Token.DiscardSealKEKs(cfg.MSPID, keep); err != nil {
		return fmt.Errorf("daemon: rotate KEK: the keyring is re-wrapped, but the replaced token key stays: %w", err)
	}
	return nil
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
