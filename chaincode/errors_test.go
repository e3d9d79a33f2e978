package chaincode

import "testing"

func TestParseError(t *testing.T) {
	tests := []struct {
		name   string
		msg    string
		ok     bool
		code   Code
		detail string
	}{
		{"plain", "riskmesh: forbidden: caller is not the regulator", true, CodeForbidden, "caller is not the regulator"},
		{"wrapped by gateway", "rpc error: code = Aborted desc = failed to endorse: chaincode response 500, riskmesh: wrong_amount: want 30, got 31\nmore", true, CodeWrongAmount, "want 30, got 31"},
		{"unknown code skipped", "riskmesh: nope: x riskmesh: conflict: y", true, CodeConflict, "y"},
		{"empty detail", "riskmesh: not_found: ", true, CodeNotFound, ""},
		{"no code", "riskmesh: something else", false, "", ""},
		{"unrelated", "connection refused", false, "", ""},
		{"prefix at end", "riskmesh: ", false, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := ParseError(tc.msg)
			if ok != tc.ok {
				t.Fatalf("ParseError(%q) ok = %v, want %v", tc.msg, ok, tc.ok)
			}
			if !ok {
				return
			}
			if e.Code != tc.code || e.Detail != tc.detail {
				t.Fatalf("ParseError(%q) = %q/%q, want %q/%q", tc.msg, e.Code, e.Detail, tc.code, tc.detail)
			}
		})
	}
}

func TestErrorRoundTrip(t *testing.T) {
	for _, c := range codes {
		t.Run(string(c), func(t *testing.T) {
			in := &Error{Code: c, Detail: "some: detail"}
			out, ok := ParseError(in.Error())
			if !ok || *out != *in {
				t.Fatalf("round trip of %v gave %v, %v", in, out, ok)
			}
		})
	}
}

func FuzzParseError(f *testing.F) {
	f.Add("riskmesh: forbidden: x")
	f.Add("desc = riskmesh: conflict: a: b\nc")
	f.Add("riskmesh: riskmesh: bad_signature: ")
	f.Fuzz(func(t *testing.T, msg string) {
		e, ok := ParseError(msg)
		if !ok {
			return
		}
		if !e.Code.Known() || len(e.Detail) > maxDetail {
			t.Fatalf("ParseError(%q) = %+v", msg, e)
		}
		// Re-parsing the canonical form gives the same error.
		again, ok := ParseError(e.Error())
		if !ok || again.Code != e.Code {
			t.Fatalf("re-parse of %q failed", e.Error())
		}
	})
}
