package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/node/identity"
)

// newInitCommand returns `riskmesh init`: creating an institution's key
// material and the regulator's consortium file.
func newInitCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init",
		Short: "create an institution's identity or the consortium file",
	}
	cmd.AddCommand(newInitIdentityCommand(), newInitConsortiumCommand())
	return cmd
}

func newInitIdentityCommand() *cobra.Command {
	var (
		dir, msp          string
		categories, hosts []string
		hsm               identity.TokenConfig
		pinEnv            string
	)
	cmd := &cobra.Command{
		Use:   "identity --dir DIR --msp MSPID [--category NAME]... [--host NAME]... [--hsm-module PATH --hsm-token LABEL --hsm-pin-env VAR]",
		Short: "generate TLS, signing and OPRF keys for an institution's node",
		Long: `Generate an institution's key material in DIR (created 0700, keys 0600):
a self-signed TLS certificate for the peer transport, a transcript-signing
key, and an OPRF key for each category the institution will provide.
The certificate names 127.0.0.1, ::1 and localhost plus every --host.
Existing keys are never overwritten.

Hand tls.crt and signing.pub (never the .key files) to the regulator, who
lists the institution with 'riskmesh init consortium'.

With --hsm-module, every key is made in that PKCS#11 token instead (the
user PIN read from the variable --hsm-pin-env names): the TLS and signing
keys never leave it, each OPRF key is kept wrapped by a token key, and the
.key files name the token's objects. Configure the same token in node.yaml's
keys.hsm (docs/operations.md, "Keys in an HSM").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ks := identity.Keystore{Dir: dir}
			if hsm.Module != "" {
				if hsm.Label == "" || pinEnv == "" {
					return errors.New("--hsm-module needs --hsm-token and --hsm-pin-env")
				}
				hsm.PIN = os.Getenv(pinEnv)
				tok, err := identity.OpenToken(hsm)
				if err != nil {
					return err
				}
				defer tok.Close()
				ks.Token = tok
				ks.Place = identity.Placement{Signing: identity.InToken, TLS: identity.InToken, OPRF: identity.InToken}
			}
			if err := ks.Generate(msp, categories, nil, hosts...); err != nil {
				return err
			}
			id, err := ks.Load()
			if err != nil {
				return err
			}
			return printIdentity(cmd.OutOrStdout(), dir, id)
		},
	}
	cmd.Flags().StringVar(&hsm.Module, "hsm-module", "", "make the keys in the PKCS#11 token of this module (the vendor's library)")
	cmd.Flags().StringVar(&hsm.Label, "hsm-token", "", "the token's label (with --hsm-module)")
	cmd.Flags().StringVar(&pinEnv, "hsm-pin-env", "", "the environment variable holding the token's user PIN (with --hsm-module)")
	cmd.Flags().StringVar(&dir, "dir", "", "directory to create the identity in (required)")
	cmd.Flags().StringVar(&msp, "msp", "", "the institution's MSP id (required)")
	cmd.Flags().StringArrayVar(&categories, "category", nil, "a category this institution provides (repeatable)")
	cmd.Flags().StringArrayVar(&hosts, "host", nil, "a DNS name or IP address peers reach the node at (repeatable)")
	cmd.MarkFlagRequired("dir")
	cmd.MarkFlagRequired("msp")
	return cmd
}

// printIdentity writes the public facts an operator needs next: what to
// give the regulator and what the registry will show.
func printIdentity(w io.Writer, dir string, id *identity.Identity) error {
	fmt.Fprintf(w, "identity for %s written to %s\n", id.MSPID, dir)
	fmt.Fprintf(w, "tls fingerprint: %s\n", id.Fingerprint)
	fmt.Fprintf(w, "signing key:     %s\n", base64.StdEncoding.EncodeToString(id.SigningKey))
	keys := id.OPRFKeys()
	for _, cat := range slices.Sorted(maps.Keys(keys)) {
		kid := keys[cat].Public().KeyID()
		fmt.Fprintf(w, "oprf key id %-8s %s\n", cat+":", hex.EncodeToString(kid[:]))
	}
	_, err := fmt.Fprintf(w, "give %s and %s to the regulator; keep the .key files private\n",
		filepath.Join(dir, identity.TLSCertFile), filepath.Join(dir, identity.SigningPubFile))
	return err
}

func newInitConsortiumCommand() *cobra.Command {
	var (
		out   string
		force bool
	)
	cmd := &cobra.Command{
		Use:   "consortium --out FILE DIR...",
		Short: "write the consortium file from members' identity directories",
		Long: `Write the consortium file the regulator's node reads (ledger.embedded.consortium_file)
to admit members to its ledger relay before they are registered. Each DIR
needs only the member's public files, tls.crt and signing.pub, plus the names
of its OPRF key files when it is a provider. Names default to the MSP id and
roles to requester (plus provider when the member has OPRF keys): edit the
file as the consortium decides.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			c, err := identity.ConsortiumOf(dirs)
			if err != nil {
				return err
			}
			err = c.WriteFile(out, force)
			if errors.Is(err, identity.ErrExists) {
				return fmt.Errorf("%s exists (use --force to replace it)", out)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "consortium file with %d members written to %s\n", len(dirs), out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (required)")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing file")
	cmd.MarkFlagRequired("out")
	return cmd
}
