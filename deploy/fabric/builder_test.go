package fabric

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// runBuilder runs one of the installed builder programs as the peer would.
func runBuilder(t *testing.T, dir, step string, args ...string) error {
	t.Helper()
	cmd := exec.Command(filepath.Join(dir, "bin", step), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Logf("%s: %s", step, out)
	}
	return err
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuilder(t *testing.T) {
	root := t.TempDir()
	builder := filepath.Join(root, "builder")
	if err := installBuilder(builder); err != nil {
		t.Fatal(err)
	}
	src, meta := filepath.Join(root, "src"), filepath.Join(root, "meta")
	out, rel := filepath.Join(root, "out"), filepath.Join(root, "release")
	for _, d := range []string{out, rel} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const conn = `{"address":"127.0.0.1:1","dial_timeout":"10s","tls_required":false}`
	writeFile(t, filepath.Join(src, "connection.json"), conn)
	writeFile(t, filepath.Join(src, "META-INF", "statedb", "couchdb", "indexes", "i.json"), "{}")

	t.Run("detect", func(t *testing.T) {
		tests := []struct {
			name     string
			metadata string
			want     bool
		}{
			{"ccaas", `{"type":"ccaas","label":"x"}`, true},
			{"ccaas with spaces and case", `{"label": "x", "type" : "CCAAS"}`, true},
			{"golang", `{"type":"golang","label":"x"}`, false},
			{"label says ccaas", `{"type":"node","label":"ccaas"}`, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				writeFile(t, filepath.Join(meta, "metadata.json"), tt.metadata)
				if got := runBuilder(t, builder, "detect", src, meta) == nil; got != tt.want {
					t.Fatalf("detect = %v, want %v", got, tt.want)
				}
			})
		}
	})
	t.Run("build and release", func(t *testing.T) {
		if err := runBuilder(t, builder, "build", src, meta, out); err != nil {
			t.Fatal(err)
		}
		if err := runBuilder(t, builder, "release", out, rel); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(rel, "chaincode", "server", "connection.json"))
		if err != nil || string(got) != conn {
			t.Fatalf("released connection.json = %q, %v", got, err)
		}
		if _, err := os.Stat(filepath.Join(rel, "statedb", "couchdb", "indexes", "i.json")); err != nil {
			t.Fatalf("indexes not released: %v", err)
		}
	})
	t.Run("build without connection.json fails", func(t *testing.T) {
		empty := filepath.Join(root, "empty")
		if err := os.MkdirAll(empty, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := runBuilder(t, builder, "build", empty, meta, t.TempDir()); err == nil {
			t.Fatal("build succeeded without connection.json")
		}
	})
}
