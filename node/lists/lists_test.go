package lists

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
)

func stringOpener(s string) Opener {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(s)), nil }
}

var testMapping = Mapping{ID: "id", Type: "type", Category: "cat", Reason: "reason", Listed: "listed", Reference: "ref"}

func drain(t *testing.T, src Source, category uint8) ([]catalogpsi.Entry, Report, error) {
	t.Helper()
	var got []catalogpsi.Entry
	rep, err := Drain(src.Entries(context.Background(), category), func(e catalogpsi.Entry) error {
		got = append(got, e)
		return nil
	})
	return got, rep, err
}

func TestDelimited(t *testing.T) {
	const csvText = "id,type,cat,reason,listed,ref\n" +
		"+86 138-0013-8000,phone,1,7,2024-03-01,CASE-1\n" +
		"alice@example.com,email,2,1,2024-03-02,\n" +
		"4111111111111112,card,1,1,2024-03-03,\n" + // Luhn failure
		"\"bob@example.com\",email,1,70000,2024-03-04,\n" + // reason out of range
		"AbC-123,device,1,3,2024-03-05,TOOLONGREF\n"
	tests := []struct {
		name      string
		text      string
		comma     rune
		category  uint8
		wantIDs   []string
		wantRows  []int64
		wantCause []error
		fatal     error
	}{
		{name: "csv category 1", text: csvText, category: 1,
			wantIDs:   []string{"phone:+8613800138000"},
			wantRows:  []int64{4, 5, 6},
			wantCause: []error{ident.ErrChecksum, ErrReason, ErrReference}},
		{name: "csv category 2", text: csvText, category: 2, wantIDs: []string{"email:alice@example.com"},
			wantRows: []int64{5}, wantCause: []error{ErrReason}},
		{name: "tsv", comma: '\t', category: 1,
			text:    "id\ttype\tcat\treason\tlisted\tref\nAbC-123\tdevice\t1\t3\t2024-03-05\t\n",
			wantIDs: []string{"device:AbC-123"}},
		{name: "missing column", text: "id,type\n", category: 1, fatal: ErrMissingColumn},
		{name: "empty file", text: "", category: 1, fatal: ErrNoHeader},
		{name: "broken quote", text: "id,type,cat,reason,listed,ref\n\"x,phone,1,1,2024-01-01,\n", category: 1, fatal: errors.New("")},
		{name: "record too long", text: "id,type,cat,reason,listed,ref\n" + strings.Repeat("a", DefaultMaxRecordBytes+1) + "\n", category: 1, fatal: ErrRecordTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := NewDelimited(stringOpener(tc.text), DelimitedConfig{Comma: tc.comma, Mapping: testMapping})
			if err != nil {
				t.Fatal(err)
			}
			got, rep, err := drain(t, src, tc.category)
			if tc.fatal != nil {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("err = %v, want *FormatError", err)
				}
				if tc.fatal.Error() != "" && !errors.Is(err, tc.fatal) {
					t.Fatalf("err = %v, want %v", err, tc.fatal)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, got, rep, tc.wantIDs, tc.wantRows, tc.wantCause)
		})
	}
}

func checkResult(t *testing.T, got []catalogpsi.Entry, rep Report, ids []string, rows []int64, causes []error) {
	t.Helper()
	if len(got) != len(ids) {
		t.Fatalf("got %d entries, want %d", len(got), len(ids))
	}
	for i, e := range got {
		if e.ID.String() != ids[i] {
			t.Errorf("entry %d = %s, want %s", i, e.ID, ids[i])
		}
		if err := e.Label.Validate(); err != nil {
			t.Errorf("entry %d label: %v", i, err)
		}
	}
	if int(rep.Rejected) != len(rows) {
		t.Fatalf("rejected %d rows, want %d: %v", rep.Rejected, len(rows), rep.Errors)
	}
	for i, re := range rep.Errors {
		if re.Row != rows[i] || !errors.Is(re, causes[i]) {
			t.Errorf("row error %d = %v, want row %d cause %v", i, re, rows[i], causes[i])
		}
		if strings.Contains(re.Error(), "4111111111111112") {
			t.Errorf("row error leaks the identifier: %v", re)
		}
	}
}

func TestNDJSON(t *testing.T) {
	text := `{"id":"+86 138-0013-8000","type":"phone","cat":1,"reason":7,"listed":"2024-03-01","ref":"CASE-1"}` + "\n\n" +
		`{"id":"4111111111111112","type":"card","cat":"1","reason":1,"listed":"2024-03-03"}` + "\r\n" +
		`{"id":true,"type":"card","cat":1,"reason":1,"listed":"2024-03-03"}` + "\n"
	src, err := NewNDJSON(stringOpener(text), NDJSONConfig{Mapping: testMapping})
	if err != nil {
		t.Fatal(err)
	}
	got, rep, err := drain(t, src, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, got, rep, []string{"phone:+8613800138000"}, []int64{3, 4}, []error{ident.ErrChecksum, ErrFieldType})
	if string(got[0].Label.Reference[:6]) != "CASE-1" || got[0].Label.Reason != 7 {
		t.Errorf("label = %+v", got[0].Label)
	}

	t.Run("malformed line", func(t *testing.T) {
		src, err := NewNDJSON(stringOpener("{\"id\":1}\n{nope\n"), NDJSONConfig{Mapping: testMapping})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = drain(t, src, 1)
		var fe *FormatError
		if !errors.As(err, &fe) || fe.Line != 2 || !errors.Is(err, ErrSyntax) {
			t.Fatalf("err = %v, want syntax error on line 2", err)
		}
	})
}
