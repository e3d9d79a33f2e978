package apiclient

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Coverage is which of the providers a query asked answered. Only an
// ANSWERED provider said anything about an identifier: a refusal, an
// unreachable provider or a disputed answer is not a miss.
type Coverage struct {
	asked      int
	unanswered []string // sorted, as the result lists providers
	sent       bool     // some identifier was valid, so something was sent
}

// CoverageOf reads a query result's coverage.
func CoverageOf(r *riskmeshv1.QueryResult) Coverage {
	c := Coverage{asked: len(r.GetProviders())}
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

func (c Coverage) answered() int { return c.asked - len(c.unanswered) }

// Outcome names the coverage: complete, partial or none.
func (c Coverage) Outcome() string {
	switch {
	case c.answered() == 0:
		return "none"
	case len(c.unanswered) > 0:
		return "partial"
	}
	return "complete"
}

// Err is nil when every provider answered; otherwise it says who did not,
// and errors.Is finds ErrSomeUnanswered in it, or ErrNoneAnswered when no
// identifier was checked at all.
func (c Coverage) Err() error {
	switch {
	case c.asked == 0:
		return coverageError{ErrNoneAnswered, "no provider was asked: the category has no active provider"}
	case !c.sent:
		return coverageError{ErrNoneAnswered, "no identifier was valid: nothing was sent to a provider"}
	case c.answered() == 0:
		return coverageError{ErrNoneAnswered, fmt.Sprintf("no provider answered (%s)", Text(strings.Join(c.unanswered, ", ")))}
	case len(c.unanswered) > 0:
		return coverageError{ErrSomeUnanswered, fmt.Sprintf("%d of %d providers did not answer (%s)",
			len(c.unanswered), c.asked, Text(strings.Join(c.unanswered, ", ")))}
	}
	return nil
}

// coverageError is Coverage.Err's error: its own words, its kind for
// errors.Is.
type coverageError struct {
	kind error
	msg  string
}

func (e coverageError) Error() string { return e.msg }
func (e coverageError) Unwrap() error { return e.kind }

// WriteQueryJSON writes the QueryResult as protobuf JSON with two more
// fields: "outcome" (Outcome) and "unanswered_providers".
func WriteQueryJSON(w io.Writer, r *riskmeshv1.QueryResult) error {
	c := CoverageOf(r)
	b, err := protojson.Marshal(r)
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	if fields["outcome"], err = json.Marshal(c.Outcome()); err != nil {
		return err
	}
	if fields["unanswered_providers"], err = json.Marshal(append([]string{}, c.unanswered...)); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(fields)
}
