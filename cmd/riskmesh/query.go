package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/node/apiclient"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Exit statuses of riskmesh query besides 0 (every provider answered) and 1
// (the query failed), docs/api.md.
const (
	exitSomeUnanswered = 3
	exitNoneAnswered   = 4
)

func newQueryCommand() *cobra.Command {
	var (
		api       apiFlags
		category  string
		providers []string
		deadline  time.Duration
		asJSON    bool
		file      string
	)
	cmd := &cobra.Command{
		Use:   "query --category CATEGORY [--file FILE] [TYPE:VALUE]...",
		Short: "check identifiers against every provider of a category through this institution's node",
		Long: `query sends one one-to-many query to the node's business API and prints, per
identifier, the providers that list it with their labels, then each provider's status.
TYPE is phone, idcard, card, email or device, e.g. phone:+8613800138000.
--file reads more identifiers, one TYPE:VALUE per line ("-" for standard input).

An identifier without hits is a miss only if every provider asked answered:
otherwise its line says how many did not. Exit status: 0 every provider
answered, 3 some did not, 4 none did (no identifier was checked), 1 the query
failed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &riskmeshv1.QueryRequest{Category: category, Providers: providers}
			if deadline > 0 {
				req.Deadline = durationpb.New(deadline)
			}
			if file != "" {
				more, err := readIdentifiers(cmd, file)
				if err != nil {
					return err
				}
				args = append(args, more...)
			}
			if len(args) == 0 {
				return errors.New("no identifiers: give TYPE:VALUE arguments or --file")
			}
			for i, a := range args {
				id, err := apiclient.ParseIdentifier(a)
				if err != nil {
					return fmt.Errorf("identifier %d: %w", i+1, err)
				}
				req.Identifiers = append(req.Identifiers, id)
			}
			return api.with(func(client *apiclient.Client) error {
				result, err := client.RunQuery(cmd.Context(), req)
				if err != nil {
					return err
				}
				if asJSON {
					if err := apiclient.WriteQueryJSON(cmd.OutOrStdout(), result); err != nil {
						return err
					}
				} else {
					apiclient.WriteResult(cmd.OutOrStdout(), args, result)
				}
				err = apiclient.CoverageOf(result).Err()
				switch {
				case errors.Is(err, apiclient.ErrNoneAnswered):
					return &exitError{exitNoneAnswered, err}
				case errors.Is(err, apiclient.ErrSomeUnanswered):
					return &exitError{exitSomeUnanswered, err}
				}
				return err
			})
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&category, "category", "", "list category, e.g. black (required)")
	cmd.Flags().StringSliceVar(&providers, "provider", nil, "ask only these providers (MSP ids); default every active provider")
	cmd.Flags().DurationVar(&deadline, "deadline", 0, "bound on the whole query (100ms to 10m; default the node's)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the QueryResult as protobuf JSON")
	cmd.Flags().StringVar(&file, "file", "", "read identifiers from FILE, one TYPE:VALUE per line (- for standard input)")
	_ = cmd.MarkFlagRequired("category")
	cmd.AddCommand(newQueryShowCommand(), newQueryListCommand(), newQueryFeedbackCommand())
	return cmd
}

// readIdentifiers reads the identifier file path (standard input for "-").
func readIdentifiers(cmd *cobra.Command, path string) ([]string, error) {
	if path == "-" {
		return apiclient.ScanIdentifiers(cmd.InOrStdin())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return apiclient.ScanIdentifiers(f)
}
