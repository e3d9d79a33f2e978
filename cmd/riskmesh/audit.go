package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/node/auditor"
	"github.com/riskmesh/riskmesh/node/daemon"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// ledgerAccess is how the audit and dispute commands reach the ledger and
// the institution's keys (daemon.LedgerSource): as the node --config
// describes, or through the embedded ledger file --ledger-db with the keys
// of --identity.
type ledgerAccess struct{ daemon.LedgerSource }

func (a *ledgerAccess) flags(c *cobra.Command, needIdentity bool) {
	c.Flags().StringVar(&a.ConfigFile, "config", "", "reach the ledger as the node this node.yaml configures")
	c.Flags().StringVar(&a.LedgerDB, "ledger-db", "", "open this embedded ledger file directly (no node may hold it)")
	c.Flags().StringVar(&a.Regulator, "regulator", accounting.DefaultRegulator, "the embedded ledger's regulator MSP id (with --ledger-db)")
	what := "read-only: as the regulator"
	if needIdentity {
		what = "required"
	}
	c.Flags().StringVar(&a.IdentityDir, "identity", "", "the institution's identity directory with --ledger-db ("+what+")")
	c.MarkFlagsMutuallyExclusive("config", "ledger-db")
	c.MarkFlagsOneRequired("config", "ledger-db")
}

// open returns the ledger acting as the institution, with its identity
// when needIdentity (which --ledger-db must then name with --identity).
func (a *ledgerAccess) open(needIdentity bool) (*daemon.ToolLedger, error) {
	if needIdentity && a.ConfigFile == "" && a.IdentityDir == "" {
		return nil, errors.New("--identity is required with --ledger-db")
	}
	a.NeedIdentity = needIdentity
	return a.Open()
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
			l, err := a.open(false)
			if err != nil {
				return err
			}
			defer l.Close()
			failed := 0
			w := cmd.OutOrStdout()
			for _, t := range ts {
				r, err := audit.Verify(cmd.Context(), t, l.Ledger)
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
	l, err := a.open(true)
	if err != nil {
		return err
	}
	defer l.Close()
	cfg.Ledger, cfg.Identity, cfg.IdentityDir, cfg.Token = l.Ledger, l.Identity, l.IdentityDir, l.Token
	if cfg.DBPath == "" {
		cfg.DBPath = filepath.Join(l.DataDir, "auditor.db")
	}
	return auditor.Run(ctx, cfg)
}
