package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
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
		file      string
	)
	cmd := &cobra.Command{
		Use:   "query --category CATEGORY [--file FILE] [TYPE:VALUE]...",
		Short: "check identifiers against every provider of a category through this institution's node",
		Long: `query sends one one-to-many query to the node's business API and prints, per
identifier, the providers that list it with their labels, then each provider's status.
TYPE is phone, idcard, card, email or device, e.g. phone:+8613800138000.
--file reads more identifiers, one TYPE:VALUE per line ("-" for standard input).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &riskmeshv1.QueryRequest{Category: category, Providers: providers}
			if deadline > 0 {
				req.Deadline = durationpb.New(deadline)
			}
			if file != "" {
				more, err := readIdentifiers(cmd.InOrStdin(), file)
				if err != nil {
					return err
				}
				args = append(args, more...)
			}
			if len(args) == 0 {
				return errors.New("no identifiers: give TYPE:VALUE arguments or --file")
			}
			for i, a := range args {
				id, err := parseIdentifier(a)
				if err != nil {
					return fmt.Errorf("identifier %d: %w", i+1, err)
				}
				req.Identifiers = append(req.Identifiers, id)
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
	cmd.Flags().StringVar(&file, "file", "", "read identifiers from FILE, one TYPE:VALUE per line (- for standard input)")
	_ = cmd.MarkFlagRequired("category")
	cmd.AddCommand(newQueryShowCommand())
	return cmd
}

// parseIdentifier parses one TYPE:VALUE. The error does not repeat the
// value: it may be a customer identifier.
func parseIdentifier(s string) (*riskmeshv1.Identifier, error) {
	typ, value, ok := strings.Cut(s, ":")
	t, known := identifierTypes[typ]
	if !ok || !known {
		return nil, errors.New("want TYPE:VALUE with TYPE one of phone, idcard, card, email, device")
	}
	return &riskmeshv1.Identifier{Type: t, Value: value}, nil
}

// Bounds of an identifier file: the API's default maximum per query, and a
// line long enough for any identifier psi/ident accepts (1,024 bytes) with
// its type.
const (
	maxFileIdentifiers = 100_000
	maxFileLine        = 2048
)

// readIdentifiers reads path (stdin for "-"): one TYPE:VALUE per line,
// blank lines skipped, at most maxFileIdentifiers lines of maxFileLine
// bytes.
func readIdentifiers(stdin io.Reader, path string) ([]string, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	return scanIdentifiers(r)
}

// scanIdentifiers splits r into trimmed non-blank lines, within the file
// bounds; errors name the line, never its content.
func scanIdentifiers(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), maxFileLine) // the larger of cap and max bounds a line
	var out []string
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		if len(out) == maxFileIdentifiers {
			return nil, fmt.Errorf("more than %d identifiers", maxFileIdentifiers)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read identifiers: %w", err)
	}
	return out, nil
}

// printResult writes one line per identifier, then one per provider.
func printResult(w io.Writer, args []string, r *riskmeshv1.QueryResult) {
	fmt.Fprintf(w, "query %s: %d tokens\n", r.GetQueryId(), r.GetAmount())
	for _, it := range r.GetItems() {
		arg := fmt.Sprintf("#%d", it.GetIndex()) // a stored query has no identifiers
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
		if late := lateText(p); late != "" {
			line += "; " + late
		}
		fmt.Fprintln(w, line)
	}
}
