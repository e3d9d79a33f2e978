// Command riskmesh is the RiskMesh binary: the institution node, the
// operator's and auditor's tools, the demo and the benchmark harness.
//
// Subcommands arrive with the issues that build them; until then they say so
// instead of pretending to work.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "riskmesh:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "riskmesh",
		Short:         "private risk-list look-ups between financial institutions",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(&cobra.Command{
		Use:   "demo",
		Short: "run a regulator and three institutions on loopback and query them",
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "riskmesh demo: not yet built (issue E); run `make test` to exercise the libraries")
			return nil
		},
	})
	root.AddCommand(newInitCommand(), newNodeCommand(), newQueryCommand(), newLedgerCommand())
	root.AddCommand(newAuditCommand())
	root.AddCommand(newDisputeCommand())
	return root
}
