package demo

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/riskmesh/riskmesh/bench/synth"
)

func TestMaskIdentifier(t *testing.T) {
	for in, want := range map[string]string{
		"+8613800138000":        "+86*********00",
		"abc":                   "***",
		"1234567":               "*******",
		"12345678":              "123***78",
		"zhang.wei@example.org": "zha****************rg",
	} {
		if got := maskIdentifier(in); got != want {
			t.Errorf("maskIdentifier(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestProgressLines: off a terminal, a line per phase and quarter, never
// the same line twice.
func TestProgressLines(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, false)
	for _, s := range []struct {
		phase       string
		done, total uint64
	}{{"build", 0, 0}, {"build", 10, 100}, {"build", 30, 100}, {"build", 40, 100}, {"download", 5, 10}, {"ready", 1, 1}, {"ready", 1, 1}} {
		p.update("Bank1MSP", s.phase, s.done, s.total)
		p.flush()
	}
	p.end()
	want := "   Bank1MSP build 0%\n   Bank1MSP build 25%\n   Bank1MSP download 50%\n   Bank1MSP ready 100%\n"
	if b.String() != want {
		t.Errorf("progress lines:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestRunRefuses: a configuration the demo cannot run is refused with its
// sentinel before anything is written or started, and the summary still
// says what was asked.
func TestRunRefuses(t *testing.T) {
	inUse := t.TempDir()
	if err := os.WriteFile(filepath.Join(inUse, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want error
	}{
		{"scale too small", Config{Dir: t.TempDir(), Scale: MinScale - 1}, ErrScale},
		{"scale too large", Config{Dir: t.TempDir(), Scale: synth.MaxEntries + 1}, ErrScale},
		{"directory in use", Config{Dir: inUse, Scale: MinScale, Binary: "/nonexistent/riskmesh"}, ErrDirInUse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Run(t.Context(), tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if s == nil || s.Scale != tc.cfg.Scale || s.OK {
				t.Errorf("summary %+v", s)
			}
			if entries, err := os.ReadDir(tc.cfg.Dir); err != nil || len(entries) > 1 {
				t.Errorf("%s holds %d files (%v), want nothing new", tc.cfg.Dir, len(entries), err)
			}
		})
	}
}
