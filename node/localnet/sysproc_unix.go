//go:build unix

package localnet

import "syscall"

// sysProcAttr puts a node in a process group of its own, so that a Ctrl-C
// at the terminal reaches only the program that started the network, which
// then stops the nodes in order.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
