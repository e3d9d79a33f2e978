package main

import (
	"context"
	"errors"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/demo"
)

func newDemoCommand() *cobra.Command {
	var (
		cfg    demo.Config
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "demo [--dir DIR] [--scale N] [--keep] [--json] [--seed S]",
		Short: "run a regulator and four institutions on loopback and query them",
		Long: `demo generates synthetic risk lists (N entries in all, typed identifiers, black, grey
and yellow categories, overlapping between institutions), starts a regulator and four
institutions as separate riskmesh node processes on loopback QUIC with the embedded ledger,
waits for the catalogs, runs a one-to-many query with planted hits and checks every answer
against the expected one, then shows the accounting entries and runs the period cycle:
rollover, close, settle, snapshot, with each institution's balance before and after. Its
quality scene prices down the provider whose planted false positives its requesters
reported wrong.
It exits non-zero when an answer or a balance is not what it must be (docs/demo.md).

--keep leaves the network running until Ctrl-C, for riskmesh query and riskmesh ledger.
--json prints a machine-readable summary on standard output (the narrative goes to
standard error).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cfg.Out = cmd.OutOrStdout()
			if asJSON {
				cfg.Out = cmd.ErrOrStderr()
			}
			cfg.Terminal = demo.IsTerminal(cfg.Out)
			summary, err := demo.Run(ctx, cfg)
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				err = errors.New("demo interrupted; every node was stopped")
			}
			if !asJSON {
				return err
			}
			summary.OK = err == nil
			if err != nil {
				summary.Error = err.Error()
			}
			if jerr := printJSON(cmd.OutOrStdout(), summary); jerr != nil && err == nil {
				err = jerr
			}
			return err
		},
	}
	cmd.Flags().StringVar(&cfg.Dir, "dir", "", "directory for the lists and the nodes (must be new or empty; default a temporary one, removed after a clean run)")
	cmd.Flags().IntVar(&cfg.Scale, "scale", demo.DefaultScale, "list entries over all institutions")
	cmd.Flags().BoolVar(&cfg.Keep, "keep", false, "leave the network running until Ctrl-C")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a machine-readable summary on standard output")
	cmd.Flags().Uint64Var(&cfg.Seed, "seed", 1, "seed of the synthetic lists and the query batch")
	return cmd
}
