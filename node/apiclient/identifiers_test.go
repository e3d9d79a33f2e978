package apiclient

import (
	"bufio"
	"errors"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

func TestScanIdentifiers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		want  []string
		err   error
	}{
		{"lines", "phone:+8613800138000\n\n  card:4111111111111111 \r\n", []string{"phone:+8613800138000", "card:4111111111111111"}, nil},
		{"empty", "", nil, nil},
		{"line too long", "phone:" + strings.Repeat("1", MaxFileLine), nil, bufio.ErrTooLong},
		{"too many", strings.Repeat("device:x\n", MaxFileIdentifiers+1), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ScanIdentifiers(strings.NewReader(tc.input))
			switch {
			case tc.name == "too many":
				if err == nil {
					t.Fatal("no error for too many identifiers")
				}
			case !errors.Is(err, tc.err):
				t.Fatalf("err = %v, want %v", err, tc.err)
			case strings.Join(got, "|") != strings.Join(tc.want, "|"):
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseIdentifier(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"phone:+8613800138000", true},
		{"idcard:11010519491231002X", true},
		{"email:", true}, // empty values are the node's to report, per item
		{"fax:123", false},
		{"+8613800138000", false},
	} {
		id, err := ParseIdentifier(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseIdentifier(%q) = %v, %v", tc.in, id, err)
		}
		if err != nil && strings.Contains(err.Error(), tc.in) {
			t.Errorf("error %q repeats the input", err)
		}
	}
}

// FuzzScanIdentifiers: any input is split within the bounds, without
// panics, and every line parses or fails without echoing its content.
func FuzzScanIdentifiers(f *testing.F) {
	f.Add("phone:+8613800138000\ncard:4111111111111111\n")
	f.Add("\n\n\r\n:::\n")
	f.Fuzz(func(t *testing.T, input string) {
		lines, err := ScanIdentifiers(strings.NewReader(input))
		if err != nil {
			return
		}
		if len(lines) > MaxFileIdentifiers {
			t.Fatalf("%d lines", len(lines))
		}
		for _, l := range lines {
			if len(l) > MaxFileLine || l == "" {
				t.Fatalf("line of %d bytes", len(l))
			}
			_, _ = ParseIdentifier(l)
		}
	})
}

// HitOutcomes keeps each index once with its outcome, in the order given,
// and refuses an empty report or an index named twice.
func TestHitOutcomes(t *testing.T) {
	hits, err := HitOutcomes([]uint{4, 1}, []uint{7})
	if err != nil || len(hits) != 3 ||
		hits[0].GetIndex() != 4 || hits[1].GetIndex() != 1 || hits[2].GetIndex() != 7 ||
		hits[0].GetOutcome() != riskmeshv1.HitOutcome_HIT_OUTCOME_CONFIRMED || hits[2].GetOutcome() != riskmeshv1.HitOutcome_HIT_OUTCOME_WRONG {
		t.Fatalf("HitOutcomes = %v, %v", hits, err)
	}
	for _, c := range []struct{ confirmed, wrong []uint }{
		{nil, nil},
		{[]uint{3}, []uint{3}},
		{[]uint{3, 3}, nil},
		{[]uint{1 << 32}, nil},
	} {
		if hits, err := HitOutcomes(c.confirmed, c.wrong); !errors.Is(err, ErrFeedback) {
			t.Errorf("HitOutcomes(%v, %v) = %v, %v, want ErrFeedback", c.confirmed, c.wrong, hits, err)
		}
	}
}
