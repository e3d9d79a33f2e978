package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/node/apiclient"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// newPushCommand is `riskmesh push`: the push events destinations gave up
// on (docs/operations.md, "Push delivery").
func newPushCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "push", Short: "list and replay the push events a destination gave up on"}
	cmd.AddCommand(newPushDeadCommand(), newPushReplayCommand())
	return cmd
}

func newPushDeadCommand() *cobra.Command {
	var (
		destination string
		limit       uint32
	)
	return apiView[*riskmeshv1.ListDeadEventsResponse]{
		use:   "dead [--destination NAME] [--limit N] [--json]",
		short: "list the dead push events, oldest first",
		flags: func(c *cobra.Command) {
			c.Flags().StringVar(&destination, "destination", "", "one destination (default: all)")
			c.Flags().Uint32Var(&limit, "limit", 0, "at most this many events (default 100, at most 1000)")
		},
		call: func(ctx context.Context, c *apiclient.Client, _ []string) (*riskmeshv1.ListDeadEventsResponse, error) {
			return c.ListDeadEvents(ctx, &riskmeshv1.ListDeadEventsRequest{Destination: destination, Limit: limit})
		},
		text: func(w io.Writer, r *riskmeshv1.ListDeadEventsResponse) { apiclient.WriteDeadEvents(w, r.GetEvents()) },
	}.command()
}

func newPushReplayCommand() *cobra.Command {
	var (
		api         apiFlags
		destination string
	)
	cmd := &cobra.Command{
		Use:   "replay --destination NAME [EVENT_ID...]",
		Short: "put dead push events back in their destination's queue (all of them if no id is given)",
		Long: `replay puts dead events of one destination back in its queue, in their original order
before every later event, once the cause (a receiver refusing them, a long outage) is fixed.
Receivers discard an event they already hold by its event id.`,
		RunE: func(cmd *cobra.Command, ids []string) error {
			if destination == "" {
				return fmt.Errorf("--destination is required")
			}
			return api.with(func(client *apiclient.Client) error {
				resp, err := client.ReplayDeadEvents(cmd.Context(), &riskmeshv1.ReplayDeadEventsRequest{Destination: destination, EventIds: ids})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d events back in %s's queue\n", resp.GetReplayed(), destination)
				return nil
			})
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&destination, "destination", "", "the destination whose dead events are replayed")
	return cmd
}
