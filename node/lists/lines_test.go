package lists

import (
	"encoding/csv"
	"errors"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/psi/ident"
)

// Every error names the line where its record starts, also after a record
// whose quoted field spans lines, with CRLF line ends, and when the problem
// itself is found further down (a quoted field running over line breaks).
func TestErrorsNameTheRecordsFirstLine(t *testing.T) {
	const header = "id,type,cat,reason,listed,ref,note\n"
	// Lines 2-3: a good record with a note over two lines.
	const spanning = "alice@example.com,email,1,1,2024-03-01,,\"first\nsecond\"\n"
	tests := []struct {
		name      string
		text      string
		wantRow   int64 // the RowError's row, if any
		wantLine  int64 // the FormatError's line, if any
		wantFound int64
		cause     error
	}{
		{name: "bad identifier after a spanning record", text: spanning + "4111111111111112,card,1,1,2024-03-03,,\n",
			wantRow: 4, cause: ident.ErrChecksum},
		{name: "bad identifier after a spanning record, CRLF",
			text:    strings.ReplaceAll(spanning+"4111111111111112,card,1,1,2024-03-03,,\n", "\n", "\r\n"),
			wantRow: 4, cause: ident.ErrChecksum},
		{name: "short record after a spanning record", text: spanning + "x,card,1\n", wantRow: 4, cause: ErrFieldCount},
		{name: "bare quote after a spanning record", text: spanning + "a\"b,card,1,1,2024-03-03,,\n", wantLine: 4, cause: csv.ErrBareQuote},
		{name: "broken quoted field over two lines", text: spanning + "\"x\ny\"z,card,1,1,2024-03-03,,\n",
			wantLine: 4, wantFound: 5, cause: csv.ErrQuote},
		{name: "quote never closed", text: spanning + "x,\"card\n,1,1,2024-03-03,,\n\n",
			wantLine: 4, wantFound: 6, cause: csv.ErrQuote},
		// 24 bytes on line 4, then one "a\n" per line: the byte past the
		// bound is an 'a', on line 4 + (bound-24)/2.
		{name: "record too long over several lines",
			text:     spanning + "x,card,1,1,2024-03-03,,\"" + strings.Repeat("a\n", DefaultMaxRecordBytes/2+1) + "\"\n",
			wantLine: 4, wantFound: 4 + (DefaultMaxRecordBytes-24)/2, cause: ErrRecordTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := NewDelimited(stringOpener(header+tc.text), DelimitedConfig{Mapping: testMapping})
			if err != nil {
				t.Fatal(err)
			}
			got, rep, err := drain(t, src, 1)
			if len(got) != 1 || got[0].ID.String() != "email:alice@example.com" {
				t.Fatalf("the spanning record was not read: %v (%v)", got, err)
			}
			if tc.wantRow != 0 {
				var re *RowError
				if err != nil || len(rep.Errors) != 1 || !errors.As(rep.Errors[0], &re) || re.Row != tc.wantRow || !errors.Is(re, tc.cause) {
					t.Fatalf("got %v, %v; want a row error on row %d", rep.Errors, err, tc.wantRow)
				}
				return
			}
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Line != tc.wantLine || fe.Found != tc.wantFound || !errors.Is(err, tc.cause) {
				t.Fatalf("got %#v (%v); want line %d found %d", fe, err, tc.wantLine, tc.wantFound)
			}
		})
	}
}
