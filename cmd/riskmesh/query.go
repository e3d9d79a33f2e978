package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// identifierTypes maps the "<type>:" prefix of a command-line identifier
// to its API type; the names are psi/ident's canonical prefixes.
var identifierTypes = map[string]riskmeshv1.IdentifierType{
	"phone":  riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE,
	"idcard": riskmeshv1.IdentifierType_IDENTIFIER_TYPE_IDCARD,
	"card":   riskmeshv1.IdentifierType_IDENTIFIER_TYPE_CARD,
	"email":  riskmeshv1.IdentifierType_IDENTIFIER_TYPE_EMAIL,
	"device": riskmeshv1.IdentifierType_IDENTIFIER_TYPE_DEVICE,
}

func newQueryCommand() *cobra.Command {
	var (
		api       apiFlags
		category  string
		providers []string
		deadline  time.Duration
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "query --category CATEGORY TYPE:VALUE...",
		Short: "check identifiers against every provider of a category through this institution's node",
		Long: `query sends one one-to-many query to the node's business API and prints, per
identifier, the providers that list it with their labels, then each provider's status.
TYPE is phone, idcard, card, email or device, e.g. phone:+8613800138000.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &riskmeshv1.QueryRequest{Category: category, Providers: providers}
			if deadline > 0 {
				req.Deadline = durationpb.New(deadline)
			}
			for _, a := range args {
				typ, value, ok := strings.Cut(a, ":")
				t, known := identifierTypes[typ]
				if !ok || !known {
					return fmt.Errorf("identifier %q: want TYPE:VALUE with TYPE one of phone, idcard, card, email, device", a)
				}
				req.Identifiers = append(req.Identifiers, &riskmeshv1.Identifier{Type: t, Value: value})
			}
			client, closeConn, err := api.dial()
			if err != nil {
				return err
			}
			defer closeConn()
			stream, err := client.Query(cmd.Context(), req)
			if err != nil {
				return err
			}
			var result *riskmeshv1.QueryResult
			for result == nil {
				ev, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					return errors.New("the node ended the query stream without a result")
				}
				if err != nil {
					return err
				}
				result = ev.GetResult()
			}
			out := cmd.OutOrStdout()
			if asJSON {
				b, err := protojson.MarshalOptions{Multiline: true}.Marshal(result)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(out, string(b))
				return err
			}
			printResult(out, args, result)
			return nil
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&category, "category", "", "list category, e.g. black (required)")
	cmd.Flags().StringSliceVar(&providers, "provider", nil, "ask only these providers (MSP ids); default every active provider")
	cmd.Flags().DurationVar(&deadline, "deadline", 0, "bound on the whole query (100ms to 10m; default the node's)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the QueryResult as protobuf JSON")
	_ = cmd.MarkFlagRequired("category")
	return cmd
}

// printResult writes one line per identifier, then one per provider.
func printResult(w io.Writer, args []string, r *riskmeshv1.QueryResult) {
	fmt.Fprintf(w, "query %s: %d tokens\n", r.GetQueryId(), r.GetAmount())
	for _, it := range r.GetItems() {
		arg := ""
		if int(it.GetIndex()) < len(args) {
			arg = args[it.GetIndex()]
		}
		switch {
		case it.GetInvalidReason() != riskmeshv1.InvalidReason_INVALID_REASON_UNSPECIFIED:
			fmt.Fprintf(w, "%s\tinvalid: %s\n", arg, it.GetInvalidDetail())
		case len(it.GetHits()) == 0:
			fmt.Fprintf(w, "%s\tno hit\n", arg)
		default:
			for _, h := range it.GetHits() {
				l := h.GetLabel()
				fmt.Fprintf(w, "%s\thit %s: category %d, reason %d, listed %s, reference %s\n", arg, h.GetProvider(),
					l.GetCategoryCode(), l.GetReasonCode(), l.GetListedDate(), hex.EncodeToString(l.GetProviderReference()))
			}
		}
	}
	for _, p := range r.GetProviders() {
		status := strings.ToLower(strings.TrimPrefix(p.GetStatus().String(), "PROVIDER_STATUS_"))
		line := fmt.Sprintf("provider %s: %s, %d items, %d tokens", p.GetProvider(), status, p.GetItems(), p.GetAmount())
		if msg := p.GetError().GetMessage(); msg != "" {
			line += " (" + msg + ")"
		}
		fmt.Fprintln(w, line)
	}
}
