package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/node/auditor"
	"github.com/riskmesh/riskmesh/node/daemon"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// ledgerAccess is how the audit and dispute commands reach the ledger and
// the institution's keys: either as the node that --config describes (the
// way `riskmesh ledger` does: through the node's relay or the Fabric
// gateway), or by opening an embedded ledger file directly (--ledger-db,
// only while no node holds it: offline audits, tests, the demo) with the
// keys of --identity.
type ledgerAccess struct {
	config    string
	ledgerDB  string
	regulator string
	identity  string
	dataDir   string // the node's data directory, or --ledger-db's (set by open)
	idDir     string // the identity directory open loaded, if any
}

func (a *ledgerAccess) flags(c *cobra.Command, needIdentity bool) {
	c.Flags().StringVar(&a.config, "config", "", "reach the ledger as the node this node.yaml configures")
	c.Flags().StringVar(&a.ledgerDB, "ledger-db", "", "open this embedded ledger file directly (no node may hold it)")
	c.Flags().StringVar(&a.regulator, "regulator", accounting.DefaultRegulator, "the embedded ledger's regulator MSP id (with --ledger-db)")
	what := "read-only: as the regulator"
	if needIdentity {
		what = "required"
	}
	c.Flags().StringVar(&a.identity, "identity", "", "the institution's identity directory with --ledger-db ("+what+")")
	c.MarkFlagsMutuallyExclusive("config", "ledger-db")
	c.MarkFlagsOneRequired("config", "ledger-db")
}

// open returns the ledger acting as the institution, its identity (nil if
// none was named and none is needed) and what to close.
func (a *ledgerAccess) open(needIdentity bool) (accounting.Ledger, *identity.Identity, io.Closer, error) {
	if a.config != "" {
		_, cfg, err := loadNodeConfig(a.config)
		if err != nil {
			return nil, nil, nil, err
		}
		a.dataDir, a.idDir = cfg.DataDir, cfg.IdentityDir
		var id *identity.Identity
		if needIdentity {
			if id, err = identity.Load(cfg.IdentityDir); err != nil {
				return nil, nil, nil, err
			}
		}
		l, closer, err := daemon.AdminLedger(cfg)
		return l, id, closer, err
	}
	var id *identity.Identity
	act := a.regulator
	switch {
	case a.identity != "":
		var err error
		if id, err = identity.Load(a.identity); err != nil {
			return nil, nil, nil, err
		}
		act, a.idDir = id.MSPID, a.identity
	case needIdentity:
		return nil, nil, nil, errors.New("--identity is required with --ledger-db")
	}
	store, err := accounting.OpenEmbedded(a.ledgerDB, accounting.EmbeddedConfig{Regulator: a.regulator, OpenTimeout: 2 * time.Second})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open %s (is a node running on it?): %w", a.ledgerDB, err)
	}
	a.dataDir = filepath.Dir(a.ledgerDB)
	l, err := store.As(act)
	if err != nil {
		store.Close()
		return nil, nil, nil, err
	}
	return l, id, store, nil
}

func newAuditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "verify transcripts against the ledger; run the auditor's dispute service",
	}
	cmd.AddCommand(newAuditVerifyCommand(), newAuditServeCommand())
	return cmd
}

func newAuditVerifyCommand() *cobra.Command {
	var (
		a      ledgerAccess
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "verify FILE",
		Short: "check every fact of a transcript file against its ledger entry",
		Long: `verify checks each transcript in FILE (psi/transcript files, as nodes store them) against
the ledger (docs/audit.md): the entry exists under its key; the stored header and body hashes
are the transcript's; both signatures verify against the registered keys; the header names the
provider's registered OPRF key; the DLEQ proof verifies against it and the period tweak; the
amount is count x the period's price; the charge stands. It prints one line per check (--json:
one report object per transcript) and exits 0 only if no check failed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := transcript.ReadFile(args[0])
			if err != nil {
				return err
			}
			l, _, closer, err := a.open(false)
			if err != nil {
				return err
			}
			defer closer.Close()
			failed := 0
			w := cmd.OutOrStdout()
			for _, t := range ts {
				r, err := audit.Verify(cmd.Context(), t, l)
				if err != nil {
					return err
				}
				if !r.OK() {
					failed++
				}
				if asJSON {
					err = printJSON(w, r)
				} else {
					err = r.WriteText(w)
				}
				if err != nil {
					return err
				}
			}
			if failed > 0 {
				return fmt.Errorf("audit: %d of %d transcript(s) failed a check", failed, len(ts))
			}
			return nil
		},
	}
	a.flags(cmd, false)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the reports as JSON")
	return cmd
}

func newAuditServeCommand() *cobra.Command {
	var (
		a      ledgerAccess
		listen string
		dbPath string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "run the auditor's dispute service until SIGINT or SIGTERM",
		Long: `serve runs the Auditor gRPC service (proto/riskmesh/v1/audit.proto) as the auditor
institution: institutions file disputed transcripts over mutual TLS (their certificates pinned by
the ledger registry's fingerprints), each is verified as 'audit verify' does, and the signed
verdict is returned and kept in --db. For a non-delivery dispute it asks the provider's node
for the billed answer over the peer protocol (docs/audit.md). The institution must hold the auditor role on the ledger.
It logs JSON to standard error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serveAuditor(ctx, &a, auditor.RunConfig{Listen: listen, DBPath: dbPath,
				Logger: slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))})
		},
	}
	a.flags(cmd, true)
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:7444", "TCP address to serve on")
	cmd.Flags().StringVar(&dbPath, "db", "", "the dispute store (default auditor.db in the node's data directory, or beside --ledger-db)")
	return cmd
}

// serveAuditor runs the auditor service (auditor.Run) as the institution
// a names until ctx ends; the dispute store defaults to auditor.db in the
// node's data directory, or beside --ledger-db.
func serveAuditor(ctx context.Context, a *ledgerAccess, cfg auditor.RunConfig) error {
	l, id, closer, err := a.open(true)
	if err != nil {
		return err
	}
	defer closer.Close()
	cfg.Ledger, cfg.Identity, cfg.IdentityDir = l, id, a.idDir
	if cfg.DBPath == "" {
		cfg.DBPath = filepath.Join(a.dataDir, "auditor.db")
	}
	return auditor.Run(ctx, cfg)
}
