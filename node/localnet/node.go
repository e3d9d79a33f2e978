package localnet

import (
	"path/filepath"
	"sync"
	"time"

	"github.com/riskmesh/riskmesh/node/config"
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
	// Pprof is the host:port of its /debug/pprof/ (Config.Pprof), or
	// "off".
	Pprof string

	conf   *config.Config // what node.yaml holds, for Restart
	binary string         // the riskmesh executable it runs

	mu   sync.Mutex // guards proc, which Restart replaces
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
	p := n.process()
	if p == nil || !p.running() {
		return 0
	}
	return p.cmd.Process.Pid
}

func (n *Node) process() *process {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}

// start runs `binary node --config node.yaml`.
func (n *Node) start() error {
	p, err := startProcess(n.binary, []string{"node", "--config", n.Config()}, n.Log())
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.proc = p
	n.mu.Unlock()
	return nil
}

// stop stops the node's process if it runs; nil when it exits cleanly.
func (n *Node) stop(timeout time.Duration) error {
	p := n.process()
	if p == nil {
		return nil
	}
	return p.stop(timeout)
}
