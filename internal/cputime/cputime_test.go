package cputime

import (
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// Self grows with work done and Children with a child's work once it has
// been waited for: a reader that returned a constant would fail both.
func TestSelfAndChildrenGrow(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no getrusage")
	}
	before := Self()
	for deadline := time.Now().Add(2 * time.Second); Self()-before < 20*time.Millisecond; {
		if time.Now().After(deadline) {
			t.Fatalf("Self grew by %v after two seconds of spinning", Self()-before)
		}
		spin()
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run a child")
	}
	children := Children()
	cmd := exec.Command(sh, "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if Children() <= children {
		t.Errorf("Children did not grow after a busy child ended: %v then %v", children, Children())
	}
}

var sink uint64

func spin() {
	for i := range uint64(1 << 20) {
		sink += i * i
	}
}
