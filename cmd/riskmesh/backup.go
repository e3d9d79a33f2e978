package main

import (
	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/node/apiclient"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

func newNodeBackupCommand() *cobra.Command {
	var (
		api    apiFlags
		dir    string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "backup --dir DIR",
		Short: "copy the running node's node.db (and embedded ledger) into a directory on its host",
		Long: `backup asks the running node (Backup, an admin method) for consistent copies of its
node.db and, on the node hosting the embedded ledger, of ledger.db, taken from inside the
process while it keeps working. The node writes them into DIR, an existing directory on its
host, as node-<UTC time>.db and ledger-<UTC time>.db; it never replaces a file. With a unix://
API a relative DIR is taken from this directory; with a TCP API it must be absolute.

The command prints each file's size and SHA-256, and the head of the ledger copy's log, which
the node verified. Keep the head and the digests off the machine: 'riskmesh ledger verify-log
FILE --head SEQ:HEX' checks that a later copy runs through that head (docs/operations.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := api.hostPath("--dir", dir)
			if err != nil {
				return err
			}
			return api.with(func(client *apiclient.Client) error {
				resp, err := client.Backup(cmd.Context(), &riskmeshv1.BackupRequest{Dir: d})
				if err != nil {
					return err
				}
				if asJSON {
					return apiclient.WriteJSON(cmd.OutOrStdout(), resp)
				}
				apiclient.WriteBackup(cmd.OutOrStdout(), resp)
				return nil
			})
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&dir, "dir", "", "existing directory on the node's host to write the copies into (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the response as protobuf JSON")
	_ = cmd.MarkFlagRequired("dir")
	cmd.AddCommand(newNodeBackupUnsealCommand())
	return cmd
}

// printBackup prints one line per copy and the ledger copy's log head in
// the form verify-log --head takes.
