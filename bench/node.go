package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/riskmesh/riskmesh/bench/synth"
)

// catalogNodes is catalog PSI, or live mode, through the node as users run
// it: the regulator hosting the embedded ledger, one provider per list and
// the requester, each a `riskmesh node` process started from its node.yaml
// (startNetwork), every query sent through the requester's business API
// (gRPC on its unix socket), so the dispatcher, metrics, outboxes, ledger
// relay, signed transcripts and proof checks all run. A relay in front of
// each provider counts the bytes between the requester and the providers
// (and emulates the wan sweep's link without tc netem).
type catalogNodes struct {
	net   *daemonNet
	dir   string
	procs []int // every node's pid, the regulator's (ledger host) included
	live  bool  // every query asks in live mode
}

// newCatalogNodes starts the network over w's lists in a directory under
// tmp with the riskmesh executable binary and waits until the requester
// holds every provider's verified catalog and, if live, every provider's
// live database answers. The setup cost is the time from the start of
// the first process to that moment, and the CPU time every node process
// has used by then.
func newCatalogNodes(ctx context.Context, w *workload, binary, tmp string, log *slog.Logger, link *WAN, live bool) (*catalogNodes, setupCost, error) {
	dir, err := os.MkdirTemp(tmp, "network-")
	if err != nil {
		return nil, setupCost{}, err
	}
	start := time.Now()
	net, err := startNetwork(ctx, networkConfig{binary: binary, dir: dir, live: live, relayed: true, link: link, rows: true, log: log}, w)
	if err != nil {
		return nil, setupCost{}, errors.Join(err, os.RemoveAll(dir))
	}
	s := &catalogNodes{net: net, dir: dir, procs: net.pids(), live: live}
	entries := 0
	for _, l := range w.lists {
		entries += len(l.Entries)
	}
	return s, setupCost{phase: PhaseSetup, items: entries, seconds: time.Since(start).Seconds(), cpu: nodesCPU(s.procs)}, nil
}

// query asks b of every provider and measures the wall time of the call,
// the CPU time of every node process over it and the bytes the relays
// carried meanwhile (UDP payloads: QUIC packets, acknowledgements
// included).
func (s *catalogNodes) query(ctx context.Context, b *synth.Batch, _ uint64) (sample, error) {
	req := s.net.request(b, s.live)
	up, down := s.net.relayed()
	cpu, start := nodesCPU(s.procs), time.Now()
	hits, err := askChecked(ctx, s.net.api, b, req)
	m := sample{hits: hits, seconds: time.Since(start).Seconds(), cpu: nodesCPU(s.procs) - cpu}
	u, d := s.net.relayed()
	m.bytesUp, m.bytesDown = u-up, d-down
	return m, err
}

func (s *catalogNodes) processes() []int { return s.procs }

// close stops every node and removes the network's files.
func (s *catalogNodes) close() error {
	return errors.Join(s.net.close(), os.RemoveAll(s.dir))
}

// buildNode builds the riskmesh executable, which the quic-node rows'
// nodes run, into tmp. It builds the package of the module the working
// directory is in: a checkout of RiskMesh, where the README's commands run.
func buildNode(ctx context.Context, tmp string) (string, error) {
	bin := filepath.Join(tmp, "riskmesh")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, nodePackage)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s (run in a RiskMesh checkout, or name a riskmesh executable): %w: %s", nodePackage, err, bounded(out))
	}
	return bin, nil
}

// nodePackage is the riskmesh command's package.
const nodePackage = "github.com/riskmesh/riskmesh/cmd/riskmesh"
