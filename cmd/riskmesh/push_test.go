package main

import (
	"strings"
	"testing"
)

// replay needs a destination before it dials anything.
func TestPushReplayNeedsDestination(t *testing.T) {
	cmd := newRootCommand()
	cmd.SetArgs([]string{"push", "replay", "--api", "unix:///nonexistent.sock", "abc"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--destination") {
		t.Fatalf("push replay without --destination: %v", err)
	}
}
