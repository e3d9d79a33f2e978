package apiclient

import (
	"errors"
	"testing"
)

// A relative path cannot be sent to a node on another host; a local node
// gets it made absolute.
func TestHostPath(t *testing.T) {
	remote := Target{Address: "node.example:7443"}
	if _, err := remote.HostPath("list.csv"); !errors.Is(err, ErrRelativePath) {
		t.Fatalf("relative path for a TCP API: %v", err)
	}
	if p, err := remote.HostPath("/srv/list.csv"); err != nil || p != "/srv/list.csv" {
		t.Fatalf("absolute path: %q, %v", p, err)
	}
	t.Chdir(t.TempDir())
	if p, err := (Target{Address: "unix:///run/api.sock"}).HostPath("list.csv"); err != nil || p[0] != '/' {
		t.Fatalf("relative path for a unix API: %q, %v", p, err)
	}
}
