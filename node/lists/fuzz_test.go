package lists

import (
	"errors"
	"testing"

	"github.com/riskmesh/riskmesh/psi/ident"
)

// fuzzSource checks the invariants every file source keeps on any input:
// no panic, every error is a *RowError or the final *FormatError, and every
// entry is valid and canonical.
func fuzzSource(t *testing.T, src Source) {
	for e, err := range src.Entries(t.Context(), 1) {
		if err != nil {
			var re *RowError
			var fe *FormatError
			if !errors.As(err, &re) && !errors.As(err, &fe) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			continue
		}
		if err := e.Label.Validate(); err != nil || e.Label.Category != 1 {
			t.Fatalf("invalid label %+v: %v", e.Label, err)
		}
		if id, err := ident.ParseID(e.ID.String()); err != nil || id != e.ID {
			t.Fatalf("entry id not canonical: %v", err)
		}
	}
}

func FuzzDelimited(f *testing.F) {
	f.Add("id,type,cat,reason,listed,ref\n+8613800138000,phone,1,7,2024-03-01,CASE-1\n", uint8(','))
	f.Add("id\ttype\tcat\treason\tlisted\tref\n\"a\nb\"\tdevice\t1\t1\t2024-01-01\t\n", uint8('\t'))
	f.Add("id,type,cat,reason,listed,ref\n\"x,phone\n", uint8(','))
	f.Fuzz(func(t *testing.T, text string, comma uint8) {
		if comma == '"' || comma == '\r' || comma == '\n' || comma == 0 || comma >= 0x80 {
			comma = ','
		}
		src, err := NewDelimited(stringOpener(text), DelimitedConfig{Comma: rune(comma), Mapping: testMapping, Limits: Limits{MaxRecordBytes: 256}})
		if err != nil {
			t.Fatal(err)
		}
		fuzzSource(t, src)
	})
}

func FuzzNDJSON(f *testing.F) {
	f.Add(`{"id":"+8613800138000","type":"phone","cat":1,"reason":7,"listed":"2024-03-01","ref":"CASE-1"}` + "\n")
	f.Add("{\"id\":null}\n\n[1]\n")
	f.Add("{\"id\":\"a\",\"type\":\"device\",\"cat\":\"1\",\"reason\":-1}")
	f.Fuzz(func(t *testing.T, text string) {
		src, err := NewNDJSON(stringOpener(text), NDJSONConfig{Mapping: testMapping, Limits: Limits{MaxRecordBytes: 256}})
		if err != nil {
			t.Fatal(err)
		}
		fuzzSource(t, src)
	})
}
