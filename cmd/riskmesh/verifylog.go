package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/accounting"
)

func newLedgerVerifyLogCommand() *cobra.Command {
	var head string
	cmd := &cobra.Command{
		Use:   "verify-log FILE [--head SEQ:HEX]",
		Short: "verify the hash-chained log of a copy of the embedded ledger",
		Long: `verify-log checks the transaction log of FILE, a copy of the embedded ledger (from
'riskmesh node backup'), and prints its head as SEQ:HEX: every record parses, the sequence has
no gaps, each record names the previous record's hash, and the last is the stored head. It
reads the file without changing it and needs no configuration or running node.

Give it a copy, never the live ledger.db: the running node holds that file locked, and
verify-log fails on the lock after a second.

--head SEQ:HEX, a head kept from an earlier backup or verification, also requires the log to
run through it: the record at SEQ must have hash HEX (the same log, or a longer one). The exit
status is 0 only if everything holds.`,
		Args: cobra.ExactArgs(1),
		// The file is all it needs: no node.yaml, no ledger connection.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, args []string) error {
			var earlier *accounting.LogHead
			if head != "" {
				h, err := accounting.ParseLogHead(head)
				if err != nil {
					return fmt.Errorf("--head: %w", err)
				}
				earlier = &h
			}
			got, err := accounting.VerifyLogFile(cmd.Context(), args[0], earlier)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "log verifies: head %s\n", got)
			if earlier != nil {
				fmt.Fprintf(w, "runs through %s\n", *earlier)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&head, "head", "", "an earlier head, SEQ:HEX, the log must run through")
	return cmd
}
