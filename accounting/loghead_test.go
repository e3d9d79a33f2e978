package accounting

import (
	"errors"
	"strings"
	"testing"
)

func TestLogHeadText(t *testing.T) {
	h := LogHead{Sequence: 42}
	h.Hash[0], h.Hash[31] = 0xab, 0x01
	s := h.String()
	if want := "42:ab" + strings.Repeat("00", 30) + "01"; s != want {
		t.Fatalf("String = %q, want %q", s, want)
	}
	if got, err := ParseLogHead(s); err != nil || got != h {
		t.Fatalf("ParseLogHead(%q) = %v, %v", s, got, err)
	}
	for _, bad := range []string{"", "42", "42:", "x:" + s[3:], "42:" + s[3:len(s)-2], s + "00", "42:" + strings.Repeat("zz", 32), "-1:" + s[3:]} {
		if _, err := ParseLogHead(bad); !errors.Is(err, ErrLogHead) {
			t.Errorf("ParseLogHead(%q): %v", bad, err)
		}
	}
}
