package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/node/apiclient"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

func newKeysCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "rotate the running node's keys",
	}
	cmd.AddCommand(newKeysRotateCommand())
	return cmd
}

// keyKinds are the names `keys rotate` takes.
var keyKinds = map[string]riskmeshv1.KeyKind{
	"signing": riskmeshv1.KeyKind_KEY_KIND_SIGNING,
	"oprf":    riskmeshv1.KeyKind_KEY_KIND_OPRF,
	"tls":     riskmeshv1.KeyKind_KEY_KIND_TLS,
}

func newKeysRotateCommand() *cobra.Command {
	var (
		api      apiFlags
		category string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "rotate signing|oprf|tls [--category NAME]",
		Short: "generate a new key, register it on the ledger and put it to use",
		Long: `rotate asks the running node (RotateKeys, an admin method) to replace one key of its
identity: the new key is written to the identity directory, its public half registered on
the ledger, and only then used. The replaced key stays valid where the ledger says so: a
signing key for the periods up to the current one (entries still queued were signed under
it), an OPRF key for the catalogs already published under it; the new OPRF key builds the
next period's catalog. An OPRF rotation needs --category. Back up the identity directory
afterwards (docs/operations.md).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, ok := keyKinds[args[0]]
			if !ok {
				return fmt.Errorf("unknown key kind %q: signing, oprf or tls", args[0])
			}
			client, err := api.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			resp, err := client.RotateKeys(cmd.Context(), &riskmeshv1.RotateKeysRequest{Kind: kind, Category: category})
			if err != nil {
				return err
			}
			if asJSON {
				return apiclient.WriteJSON(cmd.OutOrStdout(), resp)
			}
			apiclient.WriteRotation(cmd.OutOrStdout(), resp)
			return nil
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&category, "category", "", "the category whose OPRF key to rotate (oprf only)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the response as protobuf JSON")
	return cmd
}
