package main

import (
	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/node/daemon"
)

func newNodeBackupUnsealCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "unseal FILE OUT",
		Short: "turn a sealed backup copy back into the file to restore",
		Long: `unseal opens a copy that backup sealed (node-<time>.db.sealed or ledger-<time>.db.sealed,
written when node.yaml's at_rest seals data) with the node's keyring and KEK, and writes the
plain file to OUT, which must not exist. Restore it as docs/operations.md says.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, cfg, err := daemon.LoadConfig(path)
			if err != nil {
				return err
			}
			return daemon.UnsealBackup(cfg, args[0], args[1])
		},
	}
	cmd.Flags().StringVar(&path, "config", "node.yaml", "the node's configuration file")
	return cmd
}
