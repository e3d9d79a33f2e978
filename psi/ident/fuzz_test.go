package ident

import (
	"errors"
	"testing"
)

// FuzzNormalize checks that normalisation never panics, only fails with an
// *Error, and is idempotent: normalising a canonical value, bare or typed,
// gives it back unchanged.
func FuzzNormalize(f *testing.F) {
	seeds := []struct {
		typ uint8
		raw string
	}{
		{0, "+86 138-0013-8000"}, {0, "0044 (0)20 7946 0958"}, {0, "010-1234-5678"},
		{1, "11010519491231002x"}, {1, "440308200002291231"},
		{2, "6222 0202 0011 2233 49"}, {2, "4111-1111-1111-1111"},
		{3, " Alice.Smith@Example.COM "}, {3, "a@b@c.d"},
		{4, "6B29FC40-CA47-1067-B31D-00dd010662DA"}, {5, "x"},
	}
	for _, s := range seeds {
		f.Add(s.typ, s.raw)
	}
	withCode, err := New(Config{DefaultCallingCode: "86"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, typ uint8, raw string) {
		tp := Type("other")
		if int(typ) < len(Types) {
			tp = Types[typ]
		}
		for _, n := range []*Normalizer{&strict, withCode} {
			id, err := n.Normalize(tp, raw)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Err == nil {
					t.Fatalf("error %v is not an *Error with a sentinel", err)
				}
				continue
			}
			again, err := n.Normalize(tp, id.Value)
			if err != nil || again != id {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", id.Value, again, err, id)
			}
			typed, err := n.ParseID(id.String())
			if err != nil || typed != id {
				t.Fatalf("ParseID(%q) = %q, %v", id, typed, err)
			}
		}
	})
}
