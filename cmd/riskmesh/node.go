package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/node/daemon"
)

// version is the build's version, set with -ldflags "-X main.version=...".
var version = "dev"

func newNodeCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "node --config node.yaml",
		Short: "run this institution's RiskMesh node until SIGINT or SIGTERM",
		Long: `node runs the institution's node as node.yaml describes (docs/node.md,
docs/configuration.md): the QUIC peer transport, the provider and requester sides, the
business API and, on the regulator, the embedded ledger and its relay. It logs JSON to
standard error and stops gracefully on SIGINT or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, cfg, err := daemon.LoadConfig(path)
			if err != nil {
				return err
			}
			cfg.Logger = daemon.Logger(c.Log, os.Stderr)
			cfg.Version = version
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return daemon.Run(ctx, cfg)
		},
	}
	cmd.Flags().StringVar(&path, "config", "node.yaml", "the node's configuration file")
	cmd.AddCommand(newNodeBackupCommand())
	cmd.AddCommand(newNodeProvidersCommand(), newNodeCatalogsCommand(), newNodeBalanceCommand(), newNodeHealthCommand(), newNodeTranscriptCommand())
	return cmd
}
