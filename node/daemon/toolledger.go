package daemon

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/identity"
)

// LedgerSource is how a tool that is not the node (the audit and dispute
// commands) reaches the ledger and the institution's keys: either as the
// node that ConfigFile configures, the way AdminLedger does (through the
// node's relay or the Fabric gateway), or by opening the embedded ledger
// file LedgerDB directly, which works only while no node holds it (offline
// audits, tests, the demo), with the keys in IdentityDir.
type LedgerSource struct {
	ConfigFile string // a node.yaml; or
	LedgerDB   string // an embedded ledger file,
	Regulator  string // its regulator's MSP id,
	// IdentityDir is the institution's identity directory with LedgerDB;
	// without one the ledger is read as the regulator.
	IdentityDir string
	// NeedIdentity loads the identity of ConfigFile's node too.
	NeedIdentity bool
}

// ToolLedger is an opened LedgerSource.
type ToolLedger struct {
	Ledger      accounting.Ledger
	Identity    *identity.Identity // nil when none was named or needed
	IdentityDir string             // the identity directory loaded, if any
	// Token is the PKCS#11 token node.yaml's keys.hsm names, open until
	// Close; nil without one (always with LedgerDB).
	Token   *identity.Token
	DataDir string // the node's data directory, or LedgerDB's
	closer  io.Closer
}

// Close releases the ledger connection or file.
func (t *ToolLedger) Close() error { return t.closer.Close() }

// embeddedOpenTimeout bounds the wait for an embedded ledger file's lock,
// which a running node holds.
const embeddedOpenTimeout = 2 * time.Second

// Open opens the ledger acting as the institution s names.
func (s LedgerSource) Open() (*ToolLedger, error) {
	if s.ConfigFile != "" {
		_, cfg, err := LoadConfig(s.ConfigFile)
		if err != nil {
			return nil, err
		}
		t := &ToolLedger{DataDir: cfg.DataDir, IdentityDir: cfg.IdentityDir}
		if t.Ledger, t.closer, t.Token, err = adminLedgerToken(cfg); err != nil {
			return nil, err
		}
		if s.NeedIdentity {
			ks := identity.Keystore{Dir: cfg.IdentityDir, Token: t.Token}
			if t.Identity, err = ks.Load(); err != nil {
				t.Close()
				return nil, err
			}
		}
		return t, nil
	}
	// A tool reads an existing ledger: a mistyped path must not become a
	// new, empty ledger that every check then finds nothing in.
	if _, err := os.Stat(s.LedgerDB); err != nil {
		return nil, fmt.Errorf("ledger file: %w", err)
	}
	t := &ToolLedger{DataDir: filepath.Dir(s.LedgerDB)}
	act := s.Regulator
	if s.IdentityDir != "" {
		var err error
		if t.Identity, err = identity.Load(s.IdentityDir); err != nil {
			return nil, err
		}
		act, t.IdentityDir = t.Identity.MSPID, s.IdentityDir
	}
	store, err := accounting.OpenEmbedded(s.LedgerDB, accounting.EmbeddedConfig{Regulator: s.Regulator, OpenTimeout: embeddedOpenTimeout})
	if err != nil {
		return nil, fmt.Errorf("open %s (is a node running on it?): %w", s.LedgerDB, err)
	}
	if t.Ledger, err = store.As(act); err != nil {
		store.Close()
		return nil, err
	}
	t.closer = store
	return t, nil
}
