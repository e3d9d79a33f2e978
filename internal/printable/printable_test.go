package printable

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"clean text unchanged", "busy: try later", 64, "busy: try later"},
		{"multi-byte text unchanged", "服务繁忙", 64, "服务繁忙"},
		{"cut at a rune boundary", "a" + strings.Repeat("é", 4), 4, "aé"},
		{"invalid byte replaced", "a\xffb", 64, "a\uFFFDb"},
		{"rune cut by the sender", "ab\xc3", 64, "ab\uFFFD"},
		{"terminal escape made visible", "\x1b[2Jhi\x07", 64, `\x1b[2Jhi\x07`},
		{"line breaks become spaces", "one\ntwo\r\tthree", 64, "one two  three"},
		{"bidirectional override escaped", "abc\u202edef", 64, `abc\u202edef`},
		{"escape never cut in half", "ab\x1b", 5, "ab"},
		{"zero bound", "anything", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := String(tc.in, tc.max); got != tc.want {
				t.Fatalf("String(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

// FuzzString: whatever the input, the output is valid, printable, one
// line, within the bound, and unchanged by a second pass.
func FuzzString(f *testing.F) {
	f.Add("plain", 1024)
	f.Add("a"+strings.Repeat("é", 600), 1024)
	f.Add("\x1b]0;title\x07\xff\xfe", 8)
	f.Add("\u202e\u200b\u0085", 3)
	f.Fuzz(func(t *testing.T, in string, max int) {
		max = max & 0xfff
		out := String(in, max)
		if len(out) > max {
			t.Fatalf("%d bytes, bound %d", len(out), max)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 %q", out)
		}
		for _, r := range out {
			if !unicode.IsPrint(r) && r != utf8.RuneError {
				t.Fatalf("unprintable %U in %q", r, out)
			}
		}
		if again := String(out, max); again != out {
			t.Fatalf("second pass changed %q to %q", out, again)
		}
		if len(in) <= max && utf8.ValidString(in) && strings.IndexFunc(in, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 && out != in {
			t.Fatalf("printable %q changed to %q", in, out)
		}
	})
}
