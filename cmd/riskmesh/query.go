package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/internal/printable"
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
			cov := coverageOf(result)
			if asJSON {
				if err := printQueryJSON(out, result, cov); err != nil {
					return err
				}
			} else {
				printResult(out, args, result, cov)
			}
			return cov.err()
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&category, "category", "", "list category, e.g. black (required)")
	cmd.Flags().StringSliceVar(&providers, "provider", nil, "ask only these providers (MSP ids); default every active provider")
	cmd.Flags().DurationVar(&deadline, "deadline", 0, "bound on the whole query (100ms to 10m; default the node's)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the QueryResult as protobuf JSON")
	cmd.Flags().StringVar(&file, "file", "", "read identifiers from FILE, one TYPE:VALUE per line (- for standard input)")
	_ = cmd.MarkFlagRequired("category")
	cmd.AddCommand(newQueryShowCommand(), newQueryListCommand())
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

// Exit statuses of riskmesh query besides 0 (every provider answered) and 1
// (the query failed), docs/api.md.
const (
	exitSomeUnanswered = 3
	exitNoneAnswered   = 4
)

// coverage is which of the providers asked answered a query. Only an
// ANSWERED provider said anything about an identifier: a refusal, an
// unreachable provider or a disputed answer is not a miss.
type coverage struct {
	asked      int
	unanswered []string // sorted, as the result lists providers
	sent       bool     // some identifier was valid, so something was sent
}

func coverageOf(r *riskmeshv1.QueryResult) coverage {
	c := coverage{asked: len(r.GetProviders())}
	for _, it := range r.GetItems() {
		c.sent = c.sent || it.GetInvalidReason() == riskmeshv1.InvalidReason_INVALID_REASON_UNSPECIFIED
	}
	for _, p := range r.GetProviders() {
		if p.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
			c.unanswered = append(c.unanswered, p.GetProvider())
		}
	}
	return c
}

func (c coverage) answered() int { return c.asked - len(c.unanswered) }

// outcome names the coverage in --json: complete, partial or none.
func (c coverage) outcome() string {
	switch {
	case c.answered() == 0:
		return "none"
	case len(c.unanswered) > 0:
		return "partial"
	}
	return "complete"
}

// err is the command's error for the coverage: nil when every provider
// answered, otherwise an exit status saying that some or none did.
func (c coverage) err() error {
	switch {
	case c.asked == 0:
		return &exitError{exitNoneAnswered, errors.New("no provider was asked: the category has no active provider")}
	case !c.sent:
		return &exitError{exitNoneAnswered, errors.New("no identifier was valid: nothing was sent to a provider")}
	case c.answered() == 0:
		return &exitError{exitNoneAnswered, fmt.Errorf("no provider answered (%s)", remoteText(strings.Join(c.unanswered, ", ")))}
	case len(c.unanswered) > 0:
		return &exitError{exitSomeUnanswered, fmt.Errorf("%d of %d providers did not answer (%s)",
			len(c.unanswered), c.asked, remoteText(strings.Join(c.unanswered, ", ")))}
	}
	return nil
}

// printQueryJSON writes the QueryResult as protobuf JSON with two more
// fields: "outcome" (complete, partial or none) and "unanswered_providers".
func printQueryJSON(w io.Writer, r *riskmeshv1.QueryResult, c coverage) error {
	b, err := protojson.Marshal(r)
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	if fields["outcome"], err = json.Marshal(c.outcome()); err != nil {
		return err
	}
	if fields["unanswered_providers"], err = json.Marshal(append([]string{}, c.unanswered...)); err != nil {
		return err
	}
	return printJSON(w, fields)
}

// remoteText is how the command shows text that came from the node or,
// through it, from other institutions: printable, one line, bounded.
func remoteText(s string) string { return printable.String(s, maxShownText) }

// maxShownText bounds one shown text: an error message (1,024 bytes on
// the wire) with room for escapes.
const maxShownText = 4096

// printResult writes one line per identifier, then one per provider. An
// identifier without hits reads "no hit" only if every provider answered.
func printResult(w io.Writer, args []string, r *riskmeshv1.QueryResult, c coverage) {
	fmt.Fprintf(w, "query %s: %d tokens\n", remoteText(r.GetQueryId()), r.GetAmount())
	miss := "no hit"
	switch {
	case c.answered() == 0:
		miss = "unknown: no provider answered"
	case len(c.unanswered) > 0:
		miss = fmt.Sprintf("unknown: no hit at %d of %d providers, %d did not answer", c.answered(), c.asked, len(c.unanswered))
	}
	for _, it := range r.GetItems() {
		arg := fmt.Sprintf("#%d", it.GetIndex()) // a stored query has no identifiers
		if int(it.GetIndex()) < len(args) {
			arg = args[it.GetIndex()]
		}
		switch {
		case it.GetInvalidReason() != riskmeshv1.InvalidReason_INVALID_REASON_UNSPECIFIED:
			fmt.Fprintf(w, "%s\tinvalid: %s\n", arg, remoteText(it.GetInvalidDetail()))
		case len(it.GetHits()) == 0:
			fmt.Fprintf(w, "%s\t%s\n", arg, miss)
		default:
			for _, h := range it.GetHits() {
				l := h.GetLabel()
				fmt.Fprintf(w, "%s\thit %s: category %d, reason %d, listed %s, reference %s\n", arg, remoteText(h.GetProvider()),
					l.GetCategoryCode(), l.GetReasonCode(), remoteText(l.GetListedDate()), hex.EncodeToString(l.GetProviderReference()))
			}
		}
	}
	for _, p := range r.GetProviders() {
		status := strings.ToLower(strings.TrimPrefix(p.GetStatus().String(), "PROVIDER_STATUS_"))
		line := fmt.Sprintf("provider %s: %s, %d items, %d tokens", remoteText(p.GetProvider()), status, p.GetItems(), p.GetAmount())
		if msg := p.GetError().GetMessage(); msg != "" {
			line += " (" + remoteText(msg) + ")"
		}
		if late := lateText(p); late != "" {
			line += "; " + late
		}
		fmt.Fprintln(w, line)
	}
}
