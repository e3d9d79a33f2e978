//go:build unix

package localnet

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// script writes an executable shell script standing in for the riskmesh
// binary; the tests pass it "node --config FILE", as the network does, so
// FILE is "$3".
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake-riskmesh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestProcessStop(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		// exits: the script ends by itself; stop is called after.
		exits bool
		// want is a substring of stop's error, "" for a clean stop.
		want string
	}{
		{"exits on SIGTERM", `trap 'exit 0' TERM; echo ready > "$3"; while :; do sleep 0.05; done`, false, ""},
		{"ignores SIGTERM", `trap '' TERM; echo ready > "$3"; while :; do sleep 0.05; done`, false, "killed"},
		{"already failed", `echo ready > "$3"; exit 3`, true, "exit status 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// The script writes to this FIFO once its traps are set:
			// reading it waits for that.
			ready := filepath.Join(dir, "ready")
			if err := syscall.Mkfifo(ready, 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := startProcess(script(t, tc.body), []string{"node", "--config", ready}, filepath.Join(dir, "node.log"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.ReadFile(ready); err != nil {
				t.Fatal(err)
			}
			if tc.exits {
				<-p.exited
			}
			err = p.stop(500 * time.Millisecond)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("stop = %v, want %q", err, tc.want)
			}
			if p.running() {
				t.Error("still running after stop")
			}
		})
	}
}
