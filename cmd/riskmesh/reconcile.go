package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/demo"
	"github.com/riskmesh/riskmesh/node/apiclient"
	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

func newReconcileCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "reconcile a whole list with another institution's (docs/reconciliation.md)",
	}
	cmd.AddCommand(newReconcileStartCommand(), newReconcileWatchCommand(), newReconcileShowCommand(),
		newReconcileListCommand(), newReconcileFetchCommand(), newReconcileResumeCommand())
	return cmd
}

func newReconcileStartCommand() *cobra.Command {
	var (
		api                       apiFlags
		responder, list, peerList string
		mode                      string
		watch, labels             bool
	)
	cmd := &cobra.Command{
		Use:   "start --responder MSP --list LIST --peer-list LIST [--mode both-learn [--labels]] [--watch]",
		Short: "start a reconciliation of one of this node's lists with another institution's",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return api.with(func(client *apiclient.Client) error {
				st, err := client.StartReconciliation(cmd.Context(), &riskmeshv1.StartReconciliationRequest{
					Responder: responder, List: list, PeerList: peerList, Mode: mode, ShareLabels: labels})
				return started(cmd, client, st, err, watch)
			})
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&responder, "responder", "", "the other institution's MSP id (required)")
	cmd.Flags().StringVar(&list, "list", "", "this node's list, from node.yaml reconcile.lists (required)")
	cmd.Flags().StringVar(&peerList, "peer-list", "", "the responder's list, as its policy names it (required)")
	cmd.Flags().StringVar(&mode, "mode", "requester-learns", "requester-learns or both-learn")
	cmd.Flags().BoolVar(&watch, "watch", false, "follow the reconciliation until it ends")
	cmd.Flags().BoolVar(&labels, "labels", false, "exchange the labels of matched rows, if the responder's grant shares them (both-learn only)")
	for _, f := range []string{"responder", "list", "peer-list"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

// started prints the id of a reconciliation started or resumed in the
// background, or with watch follows it to its end.
func started(cmd *cobra.Command, client *apiclient.Client, st *riskmeshv1.Reconciliation, err error, watch bool) error {
	if err != nil {
		return err
	}
	if !watch {
		fmt.Fprintln(cmd.OutOrStdout(), apiclient.Text(st.GetId()))
		return nil
	}
	return watchReconciliation(cmd, client, st.GetId())
}

func newReconcileResumeCommand() *cobra.Command {
	var (
		api   apiFlags
		watch bool
	)
	cmd := &cobra.Command{
		Use:   "resume ID [--watch]",
		Short: "resume an interrupted reconciliation this node started, from where it stopped",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return api.with(func(client *apiclient.Client) error {
				st, err := client.ResumeReconciliation(cmd.Context(), &riskmeshv1.GetReconciliationRequest{Id: args[0]})
				return started(cmd, client, st, err, watch)
			})
		},
	}
	api.register(cmd)
	cmd.Flags().BoolVar(&watch, "watch", false, "follow the reconciliation until it ends")
	return cmd
}

func newReconcileWatchCommand() *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{
		Use:   "watch ID",
		Short: "follow a reconciliation until it ends, with a progress bar on a terminal",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return api.with(func(client *apiclient.Client) error {
				return watchReconciliation(cmd, client, args[0])
			})
		},
	}
	api.register(cmd)
	return cmd
}

// watchReconciliation redraws a progress line on a terminal (one line per
// state otherwise), then prints the final state; a failed reconciliation
// is the command's error.
func watchReconciliation(cmd *cobra.Command, client *apiclient.Client, id string) error {
	out := cmd.OutOrStdout()
	tty := demo.IsTerminal(out)
	last, err := client.Watch(cmd.Context(), id, func(st *riskmeshv1.Reconciliation) {
		if tty {
			fmt.Fprintf(out, "\r\033[K%s", apiclient.ProgressLine(st))
		} else {
			fmt.Fprintln(out, apiclient.ProgressLine(st))
		}
	})
	if tty {
		fmt.Fprintln(out)
	}
	if err != nil {
		return err
	}
	apiclient.WriteReconciliation(out, last)
	if st := last.GetState(); st == recon.StateFailed || st == recon.StateInterrupted {
		return fmt.Errorf("reconciliation %s %s", apiclient.Text(id), st)
	}
	return nil
}

func newReconcileShowCommand() *cobra.Command {
	return apiView[*riskmeshv1.Reconciliation]{
		use:   "show ID",
		short: "show a reconciliation's state",
		args:  cobra.ExactArgs(1),
		call: func(ctx context.Context, c *apiclient.Client, args []string) (*riskmeshv1.Reconciliation, error) {
			return c.GetReconciliation(ctx, &riskmeshv1.GetReconciliationRequest{Id: args[0]})
		},
		text: apiclient.WriteReconciliation,
	}.command()
}

func newReconcileListCommand() *cobra.Command {
	return apiView[*riskmeshv1.ListReconciliationsResponse]{
		use:   "list",
		short: "list the reconciliations this node ran or answered since it started",
		call: func(ctx context.Context, c *apiclient.Client, _ []string) (*riskmeshv1.ListReconciliationsResponse, error) {
			return c.ListReconciliations(ctx, &riskmeshv1.ListReconciliationsRequest{})
		},
		text: func(w io.Writer, r *riskmeshv1.ListReconciliationsResponse) {
			apiclient.WriteReconciliations(w, r.GetReconciliations())
		},
	}.command()
}

func newReconcileFetchCommand() *cobra.Command {
	var (
		api  apiFlags
		file string
	)
	cmd := &cobra.Command{
		Use:   "fetch ID [--out FILE]",
		Short: "write this node's matched rows, one JSON object a line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return api.with(func(client *apiclient.Client) error {
				if file == "" {
					_, err := client.FetchRows(cmd.Context(), args[0], cmd.OutOrStdout())
					return err
				}
				f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return err
				}
				n, err := client.FetchRows(cmd.Context(), args[0], f)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					_ = os.Remove(file) // a partial file would pass for the whole result
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%d rows written to %s\n", n, file)
				return nil
			})
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&file, "out", "", "write to FILE (created, mode 0600) instead of standard output")
	return cmd
}
