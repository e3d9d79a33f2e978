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
	root.AddCommand(newDemoCommand())
	root.AddCommand(newInitCommand(), newNodeCommand(), newQueryCommand(), newLedgerCommand())
	root.AddCommand(newAuditCommand())
	root.AddCommand(newDisputeCommand())
	root.AddCommand(newBenchCommand())
	root.AddCommand(newListsCommand())
	root.AddCommand(newKeysCommand())
	return root
}
