package localnet

import (
	"path/filepath"
	"time"
)

// Node is one node of the network and the files it uses.
type Node struct {
	// MSPID is the node's institution.
	MSPID string
	// Dir is the node's directory: node.yaml, identity/, data/, node.log.
	Dir string
	// Endpoint is its QUIC peer address on loopback.
	Endpoint string
	// Metrics is the host:port of its /metrics and /healthz, or "off".
	Metrics string

	proc *process
}

// Config is the path of the node's node.yaml.
func (n *Node) Config() string { return filepath.Join(n.Dir, "node.yaml") }

// IdentityDir is the directory of the node's key material.
func (n *Node) IdentityDir() string { return filepath.Join(n.Dir, "identity") }

// Socket is the path of the node's business API unix socket.
func (n *Node) Socket() string { return filepath.Join(n.Dir, "data", "api.sock") }

// Log is the file that receives the node's standard output and error.
func (n *Node) Log() string { return filepath.Join(n.Dir, "node.log") }

// PID is the node's process id, 0 when it is not running.
func (n *Node) PID() int {
	if n.proc == nil || !n.proc.running() {
		return 0
	}
	return n.proc.cmd.Process.Pid
}

// stop stops the node's process if it runs; nil when it exits cleanly.
func (n *Node) stop(timeout time.Duration) error {
	if n.proc == nil {
		return nil
	}
	return n.proc.stop(timeout)
}
