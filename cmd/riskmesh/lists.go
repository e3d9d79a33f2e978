package main

import (
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/node/apiclient"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

func newListsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lists",
		Short: "import list files into the node's list sources, or re-read the sources now",
	}
	cmd.AddCommand(newListsImportCommand(), newListsRefreshCommand())
	return cmd
}

func newListsImportCommand() *cobra.Command {
	var (
		api             apiFlags
		source, path    string
		replace, dryRun bool
		asJSON          bool
	)
	cmd := &cobra.Command{
		Use:   "import --source NAME --path FILE [--replace] [--dry-run]",
		Short: "load a list file on the node's host into a configured list source",
		Long: `import asks the node (ImportList, an admin method) to read FILE with the format and
column mapping of the configured source NAME and store its accepted rows as that source's
imported entries, which the next catalog of the source's category includes (an imported
entry wins over a listed one with the same identifier). Catalogs are immutable per period
on the ledger, so the entries reach requesters with the next period's catalog.

FILE is read by the node, on the node's host: with a unix:// API a relative path is taken
from this directory; with a TCP API it must be absolute. --replace replaces the source's
imported entries with the file's; without it they are merged (the file wins on the same
identifier). --dry-run validates and counts and changes nothing. Rejected rows are listed
by line and reason, never by value. PostgreSQL sources take no file imports.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := api.hostPath("--path", path)
			if err != nil {
				return err
			}
			return api.with(func(client *apiclient.Client) error {
				resp, err := client.ImportList(cmd.Context(), &riskmeshv1.ImportListRequest{
					Source: source, Path: p, Replace: replace, DryRun: dryRun,
				})
				if err != nil {
					return err
				}
				return printImports(cmd.OutOrStdout(), asJSON, dryRun, resp, []*riskmeshv1.ListImport{resp.GetImport()})
			})
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&source, "source", "", "configured list source name (required)")
	cmd.Flags().StringVar(&path, "path", "", "list file on the node's host (required)")
	cmd.Flags().BoolVar(&replace, "replace", false, "replace the source's imported entries instead of merging")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "validate and count only; change nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the response as protobuf JSON")
	_ = cmd.MarkFlagRequired("source")
	_ = cmd.MarkFlagRequired("path")
	return cmd
}

func newListsRefreshCommand() *cobra.Command {
	var (
		api    apiFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "refresh [SOURCE]...",
		Short: "re-read the node's list sources now (all of them if none is named)",
		Long: `refresh asks the node (RefreshLists, an admin method) to re-read the named list
sources now instead of at their next scheduled refresh, reports what each holds, and
schedules the catalogs for rebuilding (new contents reach requesters with the next
period's catalog). It fails if a source could not be read.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return api.with(func(client *apiclient.Client) error {
				resp, err := client.RefreshLists(cmd.Context(), &riskmeshv1.RefreshListsRequest{Sources: args})
				if err != nil {
					return err
				}
				return printImports(cmd.OutOrStdout(), asJSON, false, resp, resp.GetImports())
			})
		},
	}
	api.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the response as protobuf JSON")
	return cmd
}

// printImports prints resp as protobuf JSON, or each of its ListImports,
// and fails if a source could not be read.
func printImports(w io.Writer, asJSON, dryRun bool, resp proto.Message, imports []*riskmeshv1.ListImport) error {
	if asJSON {
		if err := apiclient.WriteJSON(w, resp); err != nil {
			return err
		}
	} else {
		for _, imp := range imports {
			apiclient.WriteImport(w, dryRun, imp)
		}
	}
	return apiclient.ImportErr(imports)
}
