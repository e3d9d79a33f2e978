package main

import (
	"os/exec"
	"syscall"
)

// stopWithTest has the kernel send the kept demo Ctrl-C if the test process
// dies first (a test timeout, a panic), so that it still stops its nodes.
func stopWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGINT}
}
