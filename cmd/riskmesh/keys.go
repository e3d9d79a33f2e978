package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/node/apiclient"
	"github.com/riskmesh/riskmesh/node/daemon"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

func newKeysCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "rotate the node's keys",
	}
	cmd.AddCommand(newKeysRotateCommand(), newKeysRotateKEKCommand())
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
			return api.with(func(client *apiclient.Client) error {
				resp, err := client.RotateKeys(cmd.Context(), &riskmeshv1.RotateKeysRequest{Kind: kind, Category: category})
				if err != nil {
					return err
				}
				if asJSON {
					return apiclient.WriteJSON(cmd.OutOrStdout(), resp)
				}
				apiclient.WriteRotation(cmd.OutOrStdout(), resp)
				return nil
			})
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&category, "category", "", "the category whose OPRF key to rotate (oprf only)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the response as protobuf JSON")
	return cmd
}

func newKeysRotateKEKCommand() *cobra.Command {
	var path, to, passphraseEnv string
	cmd := &cobra.Command{
		Use:   "rotate-kek [--to hsm|passphrase] [--passphrase-env VAR]",
		Short: "re-wrap the data-at-rest key under a new key-encryption key",
		Long: `rotate-kek re-wraps the data key in <data_dir>/seal.key under a new key-encryption key,
without rewriting any sealed record: a new AES key in the keys.hsm token (--to hsm), or a
passphrase read from the environment variable --passphrase-env names (--to passphrase). --to
defaults to node.yaml's at_rest.kek. The keyring must first open under the configured KEK; a
lost KEK is refused and seal.key is left as it is. The token's replaced key is destroyed only
after the new wrapping is written. The node reads seal.key only when it starts, so it may run
meanwhile. If --to changes the kind, or the passphrase changes, set node.yaml's at_rest (and
the passphrase's variable) to the new KEK before the next start (docs/operations.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, cfg, err := daemon.LoadConfig(path)
			if err != nil {
				return err
			}
			to = cmp.Or(to, cfg.Keys.AtRest)
			var passphrase []byte
			if to == daemon.AtRestPassphrase {
				if passphraseEnv == "" {
					return errors.New("--to passphrase needs --passphrase-env, the variable holding the new passphrase")
				}
				passphrase = []byte(os.Getenv(passphraseEnv))
			}
			if err := daemon.RotateKEK(cfg, to, passphrase); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s re-wrapped under a new %s key-encryption key\n", seal.KeyringFile, to)
			if to != cfg.Keys.AtRest || to == daemon.AtRestPassphrase {
				fmt.Fprintln(cmd.OutOrStdout(), "set node.yaml's at_rest to the new key-encryption key before the node's next start")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "node.yaml", "the node's configuration file")
	cmd.Flags().StringVar(&to, "to", "", "the new KEK's kind: hsm or passphrase (default: at_rest.kek)")
	cmd.Flags().StringVar(&passphraseEnv, "passphrase-env", "", "the environment variable holding the new passphrase (--to passphrase)")
	return cmd
}
