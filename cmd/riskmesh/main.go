// Command riskmesh is the RiskMesh binary: the institution node, the
// operator's and auditor's tools and the demo (the benchmark harness is
// riskmesh-bench).
//
// Subcommands arrive with the issues that build them; until then they say so
// instead of pretending to work.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "riskmesh:", err)
		code := 1
		if ee := (*exitError)(nil); errors.As(err, &ee) {
			code = ee.code
		}
		os.Exit(code)
	}
}

// exitError is a command's error that asks for an exit status other than 1
// (riskmesh query's partial answers, docs/api.md).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

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
	root.AddCommand(newListsCommand())
	root.AddCommand(newKeysCommand())
	root.AddCommand(newPushCommand())
	root.AddCommand(newReconcileCommand())
	return root
}
