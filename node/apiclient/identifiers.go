package apiclient

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// identifierTypes maps the "<type>:" prefix of a written identifier to its
// API type; the names are psi/ident's canonical prefixes.
var identifierTypes = map[string]riskmeshv1.IdentifierType{
	"phone":  riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE,
	"idcard": riskmeshv1.IdentifierType_IDENTIFIER_TYPE_IDCARD,
	"card":   riskmeshv1.IdentifierType_IDENTIFIER_TYPE_CARD,
	"email":  riskmeshv1.IdentifierType_IDENTIFIER_TYPE_EMAIL,
	"device": riskmeshv1.IdentifierType_IDENTIFIER_TYPE_DEVICE,
}

// ParseIdentifier parses one TYPE:VALUE, e.g. phone:+8613800138000; the
// node normalises and checks the value. The error does not repeat the
// value: it may be a customer identifier.
func ParseIdentifier(s string) (*riskmeshv1.Identifier, error) {
	typ, value, ok := strings.Cut(s, ":")
	t, known := identifierTypes[typ]
	if !ok || !known {
		return nil, ErrIdentifier
	}
	return &riskmeshv1.Identifier{Type: t, Value: value}, nil
}

// Bounds of an identifier file: the API's default maximum per query, and a
// line long enough for any identifier psi/ident accepts (1,024 bytes) with
// its type.
const (
	MaxFileIdentifiers = 100_000
	MaxFileLine        = 2048
)

// ScanIdentifiers splits r into trimmed non-blank lines, one TYPE:VALUE
// each, at most MaxFileIdentifiers lines of MaxFileLine bytes; errors name
// the line, never its content.
func ScanIdentifiers(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), MaxFileLine) // the larger of cap and max bounds a line
	var out []string
	for sc.Scan() {
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		if len(out) == MaxFileIdentifiers {
			return nil, ErrTooMany
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read identifiers: %w", err)
	}
	return out, nil
}

// HitOutcomes is the ReportOutcomes list of hits: the confirmed indexes and
// the wrong ones, each index at most once.
func HitOutcomes(confirmed, wrong []uint) ([]*riskmeshv1.HitFeedback, error) {
	if len(confirmed)+len(wrong) == 0 {
		return nil, fmt.Errorf("%w: no hit named", ErrFeedback)
	}
	seen := make(map[uint]bool, len(confirmed)+len(wrong))
	var hits []*riskmeshv1.HitFeedback
	for _, g := range []struct {
		indexes []uint
		outcome riskmeshv1.HitOutcome
	}{{confirmed, riskmeshv1.HitOutcome_HIT_OUTCOME_CONFIRMED}, {wrong, riskmeshv1.HitOutcome_HIT_OUTCOME_WRONG}} {
		for _, i := range g.indexes {
			if i > math.MaxUint32 {
				return nil, fmt.Errorf("%w: index %d is out of range", ErrFeedback, i)
			}
			if seen[i] {
				return nil, fmt.Errorf("%w: index %d is named twice", ErrFeedback, i)
			}
			seen[i] = true
			hits = append(hits, &riskmeshv1.HitFeedback{Index: uint32(i), Outcome: g.outcome})
		}
	}
	return hits, nil
}
