package localnet

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/apiclient"
	"github.com/riskmesh/riskmesh/node/auditor"
	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/daemon"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Tuning of a loopback network and of the waits.
const (
	registryRefresh = 500 * time.Millisecond
	catalogRetry    = 250 * time.Millisecond
	maxCatalogRetry = 2 * time.Second
	// disputeRetry is the first wait before a member files a pending
	// dispute again: the provider's entry reaches the ledger within about
	// a second here.
	disputeRetry = 250 * time.Millisecond
	// auditorLog is the auditor service's log in the regulator's
	// directory.
	auditorLog   = "auditor.log"
	pollInterval = 200 * time.Millisecond
	// handshakeTimeout bounds one attempt to reach the auditor service: a
	// socket that accepts and never answers must not hold the wait.
	handshakeTimeout = 2 * time.Second
)

// Network is a running local consortium. Its methods may be called
// concurrently; Stop ends it.
type Network struct {
	cfg       Config
	regulator *Node
	members   []*Node
	admin     accounting.Ledger
	closer    io.Closer
	// auditor runs the dispute service on auditorAddr, with Config.Auditor.
	auditor     *process
	auditorAddr string

	mu    sync.Mutex
	conns map[string]*apiclient.Client

	stopOnce sync.Once
	stopErr  error
}

// Start creates the consortium cfg describes in cfg.Dir, starts its nodes and
// returns once period 1 is open and every node serves it. On an error, or when ctx ends
// first, it stops what it started; the directory stays for its logs.
func Start(ctx context.Context, cfg Config) (*Network, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Network{cfg: cfg, conns: make(map[string]*apiclient.Client)}
	if err := n.start(ctx); err != nil {
		return nil, errors.Join(err, n.Stop())
	}
	return n, nil
}

func (n *Network) start(ctx context.Context) error {
	cfg := n.cfg
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return err
	}
	var err error
	if n.regulator, err = newNode(cfg.Dir, cfg.Regulator, cfg.Binary, nil, cfg.Pprof); err != nil {
		return err
	}
	for _, m := range cfg.Members {
		node, err := newNode(cfg.Dir, m.MSPID, cmp.Or(m.Binary, cfg.Binary), m.Categories, cfg.Pprof)
		if err != nil {
			return err
		}
		n.members = append(n.members, node)
	}
	cfg.Progress(fmt.Sprintf("identities of %d institutions and the regulator generated", len(n.members)))
	if cfg.Auditor {
		if n.auditorAddr, err = pickAddr("tcp"); err != nil {
			return err
		}
	}

	regID, err := identity.Load(n.regulator.IdentityDir())
	if err != nil {
		return err
	}
	if err := writeConsortium(n.regulator, n.members); err != nil {
		return err
	}
	if err := writeConfig(n.regulator, regulatorConfig(n.regulator), cfg.Tune); err != nil {
		return err
	}
	for i, m := range n.members {
		if err := writeConfig(m, memberConfig(m, n.regulator, regID, cfg.Members[i].Sources, n.auditorAddr), cfg.Tune); err != nil {
			return err
		}
	}

	if err := n.regulator.start(); err != nil {
		return err
	}
	if err := n.openAdmin(); err != nil {
		return err
	}
	if err := n.waitMoving(ctx, "the regulator's ledger", func() error {
		_, err := n.admin.Accounts(ctx)
		return err
	}); err != nil {
		return err
	}
	cfg.Progress("regulator started, hosting the embedded ledger")

	if err := n.onboard(ctx); err != nil {
		return err
	}
	cfg.Progress("institutions, roles, prices and limits on the ledger")
	if cfg.Auditor {
		if err := n.startAuditor(ctx, regID); err != nil {
			return err
		}
		cfg.Progress("the regulator's auditor service started")
	}

	for _, m := range n.members {
		if err := m.start(); err != nil {
			return err
		}
	}
	if err := n.waitMoving(ctx, "members registered", n.registered(ctx)); err != nil {
		return err
	}
	cfg.Progress("members started and registered their endpoints and keys")

	p, err := n.admin.Period(ctx, 0)
	if errors.Is(err, accounting.ErrNotFound) {
		p, err = n.admin.Rollover(ctx)
	}
	if err != nil {
		return fmt.Errorf("open period 1: %w", err)
	}
	if err := n.waitMoving(ctx, fmt.Sprintf("every node serving period %d", p.Number), n.serving(ctx, p.Number)); err != nil {
		return err
	}
	cfg.Progress(fmt.Sprintf("period %d open, every node serving", p.Number))
	return nil
}

// openAdmin opens the regulator's administrative ledger connection, the
// way `riskmesh ledger --config` does.
func (n *Network) openAdmin() error {
	c, err := config.Load(n.regulator.Config())
	if err != nil {
		return err
	}
	dc, err := daemon.FromConfig(c)
	if err != nil {
		return err
	}
	n.admin, n.closer, err = daemon.AdminLedger(dc)
	return err
}

// onboard adds the members to the ledger as the regulator would: roles,
// overdraft limits and the category prices (live ones too); with
// Config.Auditor, the regulator itself as the auditor.
func (n *Network) onboard(ctx context.Context) error {
	if n.cfg.Auditor {
		if err := n.admin.AddInstitution(ctx, n.cfg.Regulator, n.cfg.Regulator, []accounting.Role{accounting.Role("auditor")}); err != nil {
			return fmt.Errorf("add %s as the auditor: %w", n.cfg.Regulator, err)
		}
	}
	for _, m := range n.cfg.Members {
		roles := []accounting.Role{accounting.Role("requester")}
		if len(m.Categories) > 0 {
			roles = append(roles, accounting.Role("provider"))
		}
		if err := n.admin.AddInstitution(ctx, m.MSPID, m.Name, roles); err != nil {
			return fmt.Errorf("add %s: %w", m.MSPID, err)
		}
		if err := n.admin.SetLimit(ctx, m.MSPID, m.Limit); err != nil {
			return fmt.Errorf("limit of %s: %w", m.MSPID, err)
		}
	}
	for _, cat := range slices.Sorted(maps.Keys(n.cfg.Prices)) {
		if err := n.admin.SetPrice(ctx, cat, n.cfg.Prices[cat]); err != nil {
			return fmt.Errorf("price of %s: %w", cat, err)
		}
	}
	for _, cat := range slices.Sorted(maps.Keys(n.cfg.LivePrices)) {
		if err := n.admin.SetModePrice(ctx, cat, accounting.ModeLive, n.cfg.LivePrices[cat]); err != nil {
			return fmt.Errorf("live price of %s: %w", cat, err)
		}
	}
	return nil
}

// registered checks that every member's registry record carries its
// endpoint and an OPRF key for each category it provides, and, with
// Config.Auditor, that the regulator's carries its endpoint too: the
// requesters pin the auditor service's certificate and check its verdicts
// with the keys that record holds.
func (n *Network) registered(ctx context.Context) func() error {
	return func() error {
		if n.cfg.Auditor {
			in, err := n.admin.Institution(ctx, n.regulator.MSPID)
			if err != nil {
				return err
			}
			if in.Endpoint != n.regulator.Endpoint || len(in.SigningKey) == 0 {
				return fmt.Errorf("%s has not registered its endpoint and keys", n.regulator.MSPID)
			}
		}
		for i, m := range n.members {
			in, err := n.admin.Institution(ctx, m.MSPID)
			if err != nil {
				return err
			}
			if in.Endpoint != m.Endpoint {
				return fmt.Errorf("%s has not registered its endpoint", m.MSPID)
			}
			for _, cat := range n.cfg.Members[i].Categories {
				if len(in.OPRFKeys[cat]) == 0 {
					return fmt.Errorf("%s has not registered its %s key", m.MSPID, cat)
				}
			}
		}
		return nil
	}
}

// serving checks that every node reports period and is not refusing work.
func (n *Network) serving(ctx context.Context, period uint64) func() error {
	return func() error {
		for _, node := range n.Nodes() {
			c, err := n.Client(node.MSPID)
			if err != nil {
				return err
			}
			h, err := c.Health(ctx, &riskmeshv1.HealthRequest{})
			if err != nil {
				return fmt.Errorf("%s: %w", node.MSPID, err)
			}
			if h.GetStatus() == riskmeshv1.HealthStatus_HEALTH_STATUS_NOT_SERVING || h.GetPeriod() < period {
				return fmt.Errorf("%s: %v in period %d", node.MSPID, h.GetStatus(), h.GetPeriod())
			}
		}
		return nil
	}
}

// startAuditor runs `riskmesh audit serve` as the regulator, through its
// node, and waits until it completes a TLS handshake with the regulator's
// certificate (reg's), as the members pin it: a socket of another program
// on its port does not pass for it. It starts before the members, whose
// node.yaml name its address, so that it can move to a fresh port when
// another program took its own (moveLost).
func (n *Network) startAuditor(ctx context.Context, reg *identity.Identity) error {
	if err := n.runAuditor(); err != nil {
		return err
	}
	d := tls.Dialer{Config: auditor.ClientTLS(reg.Certificate, reg.Fingerprint)}
	return n.waitMoving(ctx, "the auditor service", func() error {
		ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
		defer cancel()
		c, err := d.DialContext(ctx, "tcp", n.auditorAddr)
		if err != nil {
			return err
		}
		return c.Close()
	})
}

// runAuditor starts the auditor service's process on auditorAddr.
func (n *Network) runAuditor() error {
	args := []string{"audit", "serve", "--config", n.regulator.Config(), "--listen", n.auditorAddr}
	var err error
	n.auditor, err = startProcess(n.cfg.Binary, args, filepath.Join(n.regulator.Dir, auditorLog))
	return err
}

// AuditorAddress is the auditor service's host:port, empty without
// Config.Auditor.
func (n *Network) AuditorAddress() string { return n.auditorAddr }

// Restart stops mspID's node, rewrites its node.yaml with tune applied to
// what it held (after Config.Tune), starts it again and returns once it
// serves the current period and every other member's node has seen it
// register: to change a setting, e.g. make a provider misbehave
// (provider.misbehave). The directory, keys and data stay; the peer
// endpoint moves to a new port, as it would for a node moved to another
// host, so that the other nodes dial it afresh rather than wait on
// connections to the stopped process (Node.Endpoint changes: do not call
// Restart while another goroutine reads that Node). The regulator cannot
// be restarted: the members reach the ledger at its endpoint.
func (n *Network) Restart(ctx context.Context, mspID string, tune func(*config.Config)) error {
	node, err := n.Node(mspID)
	if err != nil {
		return err
	}
	if node == n.regulator {
		return fmt.Errorf("%w: the regulator cannot be restarted", ErrConfig)
	}
	if err := n.stopNode(node); err != nil {
		return err
	}
	if node.Endpoint, err = pickAddr("udp"); err != nil {
		return err
	}
	if err := writeConfig(node, node.conf, func(_ string, c *config.Config) {
		c.Listen.Peer = node.Endpoint
		if tune != nil {
			tune(c)
		}
	}); err != nil {
		return err
	}
	if err := node.start(); err != nil {
		return err
	}
	p, err := n.admin.Period(ctx, 0)
	if err != nil {
		return fmt.Errorf("current period: %w", err)
	}
	if err := n.waitMoving(ctx, fmt.Sprintf("%s serving period %d again", mspID, p.Number), n.serving(ctx, p.Number)); err != nil {
		return err
	}
	return n.Wait(ctx, fmt.Sprintf("%s's new endpoint known to every member", mspID), n.seenAt(ctx, node))
}

// seenAt checks that the registry record of node carries its endpoint and
// that every other member's node lists it there, when it provides anything.
func (n *Network) seenAt(ctx context.Context, node *Node) func() error {
	return func() error {
		if err := n.registered(ctx)(); err != nil {
			return err
		}
		for _, m := range n.members {
			if m == node {
				continue
			}
			c, err := n.Client(m.MSPID)
			if err != nil {
				return err
			}
			resp, err := c.Providers(ctx, &riskmeshv1.ProvidersRequest{})
			if err != nil {
				return fmt.Errorf("%s: %w", m.MSPID, err)
			}
			for _, p := range resp.GetProviders() {
				if p.GetMspId() == node.MSPID && p.GetEndpoint() != node.Endpoint {
					return fmt.Errorf("%s still sees %s at its old endpoint", m.MSPID, node.MSPID)
				}
			}
		}
		return nil
	}
}

// Wait calls check every 200 ms until it succeeds, ctx ends or a node
// exits: the way to wait for another process's background work (an outbox
// flushing, a registry refresh). The error names what was awaited, and
// check's last error.
func (n *Network) Wait(ctx context.Context, what string, check func() error) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		if dead := n.exited(); dead != nil {
			return fmt.Errorf("waiting for %s: %w", what, dead)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last: %v)", what, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// maxMoves bounds how often one wait of Start or Restart moves nodes to
// fresh ports.
const maxMoves = 3

// waitMoving is Wait for a node that has just been started: when a node
// exits because another program took one of its ports between the pick
// and the bind (freeAddr), it is moved to fresh ports and started again,
// at most maxMoves times, and the wait goes on. Any other exit ends the
// wait as Wait does.
func (n *Network) waitMoving(ctx context.Context, what string, check func() error) error {
	for moves := 0; ; moves++ {
		err := n.Wait(ctx, what, check)
		if !errors.Is(err, ErrExited) || moves == maxMoves {
			return err
		}
		moved, merr := n.moveLost()
		if merr != nil || !moved {
			return errors.Join(err, merr)
		}
	}
}

// moveLost moves every node that exited because it could not bind its
// addresses to fresh ones and starts it again, and the auditor service
// likewise. It reports false, moving nothing, if a node or the auditor
// service exited while its addresses are free: it failed for another
// reason, which its log says. The regulator and the auditor service move
// only while no member runs, since the members' node.yaml name their
// addresses.
func (n *Network) moveLost() (bool, error) {
	var lost []*Node
	for _, node := range n.Nodes() {
		p := node.process()
		if p == nil || p.running() {
			continue
		}
		if !lostAddr(node.conf) {
			return false, nil
		}
		lost = append(lost, node)
	}
	auditorLost := n.auditor != nil && !n.auditor.running()
	if auditorLost && !taken("tcp", n.auditorAddr) {
		return false, nil
	}
	if len(lost) == 0 && !auditorLost {
		return false, nil
	}
	membersRun := slices.ContainsFunc(n.members, func(m *Node) bool { return m.process() != nil })
	if membersRun && (auditorLost || slices.Contains(lost, n.regulator)) {
		return false, nil
	}
	for _, node := range lost {
		if err := n.move(node); err != nil {
			return false, err
		}
	}
	if auditorLost {
		if err := n.moveAuditor(); err != nil {
			return false, err
		}
	}
	return true, nil
}

// moveAuditor gives the auditor service a fresh port, rewrites the
// members' node.yaml, which name it, and starts it again.
func (n *Network) moveAuditor() error {
	addr, err := pickAddr("tcp")
	if err != nil {
		return err
	}
	n.auditorAddr = addr
	for _, m := range n.members {
		if err := writeConfig(m, m.conf, func(_ string, c *config.Config) { c.Disputes.AuditorAddress = addr }); err != nil {
			return err
		}
	}
	return n.runAuditor()
}

// lostAddr reports whether a port node.yaml c names is held by another
// socket now that its node has exited.
func lostAddr(c *config.Config) bool {
	if taken("udp", c.Listen.Peer) {
		return true
	}
	for _, addr := range []string{c.Listen.Metrics, c.Listen.Pprof} {
		if addr != config.Off && taken("tcp", addr) {
			return true
		}
	}
	return false
}

// move gives node a fresh peer, metrics and profiles port (those that are
// on), rewrites its node.yaml and starts it. For the regulator it rewrites the members' node.yaml,
// which name its endpoint, and reopens the administrative connection.
func (n *Network) move(node *Node) error {
	var err error
	if node.Endpoint, err = pickAddr("udp"); err != nil {
		return err
	}
	metricsOn, pprofOn := node.conf.Listen.Metrics != config.Off, node.conf.Listen.Pprof != config.Off
	if metricsOn {
		if node.Metrics, err = pickAddr("tcp"); err != nil {
			return err
		}
	}
	if pprofOn {
		if node.Pprof, err = pickAddr("tcp"); err != nil {
			return err
		}
	}
	if err := writeConfig(node, node.conf, func(_ string, c *config.Config) {
		c.Listen.Peer = node.Endpoint
		if metricsOn {
			c.Listen.Metrics = node.Metrics
		}
		if pprofOn {
			c.Listen.Pprof = node.Pprof
		}
	}); err != nil {
		return err
	}
	if node == n.regulator {
		for _, m := range n.members {
			if err := writeConfig(m, m.conf, func(_ string, c *config.Config) { c.Ledger.Remote.Endpoint = node.Endpoint }); err != nil {
				return err
			}
		}
		if err := n.closer.Close(); err != nil {
			return err
		}
		if err := n.openAdmin(); err != nil {
			return err
		}
	}
	return node.start()
}

// exited returns an error naming a started node that is no longer running.
func (n *Network) exited() error {
	for _, node := range n.Nodes() {
		if p := node.process(); p != nil && !p.running() {
			return fmt.Errorf("%w: %s (log %s): %v", ErrExited, node.MSPID, node.Log(), p.exitError())
		}
	}
	if n.auditor != nil && !n.auditor.running() {
		return fmt.Errorf("%w: the auditor service (log %s): %v", ErrExited, filepath.Join(n.regulator.Dir, auditorLog), n.auditor.exitError())
	}
	return nil
}

// Regulator is the regulator's node.
func (n *Network) Regulator() *Node { return n.regulator }

// Members are the members' nodes in Config.Members order.
func (n *Network) Members() []*Node { return slices.Clone(n.members) }

// Nodes are the regulator's node then the members'.
func (n *Network) Nodes() []*Node {
	nodes := []*Node{}
	if n.regulator != nil {
		nodes = append(nodes, n.regulator)
	}
	return append(nodes, n.members...)
}

// Node returns the node of mspID.
func (n *Network) Node(mspID string) (*Node, error) {
	for _, node := range n.Nodes() {
		if node.MSPID == mspID {
			return node, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownNode, mspID)
}

// Admin is the ledger as the regulator, through its node's relay: for
// onboarding, the period cycle and reading entries and balances.
func (n *Network) Admin() accounting.Ledger { return n.admin }

// Client returns a business API client of mspID's node over its unix
// socket; the connection is shared and closed by Stop.
func (n *Network) Client(mspID string) (riskmeshv1.RiskMeshClient, error) {
	node, err := n.Node(mspID)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conns == nil {
		return nil, ErrStopped
	}
	c, ok := n.conns[mspID]
	if !ok {
		if c, err = apiclient.Dial(apiclient.Target{Address: "unix://" + node.Socket()}); err != nil {
			return nil, fmt.Errorf("api of %s: %w", mspID, err)
		}
		n.conns[mspID] = c
	}
	return c, nil
}

// Stop stops every node the network started, members first (concurrently),
// then the auditor service and the regulator last, each with SIGTERM and, after Config.StopTimeout,
// SIGKILL. It returns an error naming each node that did not exit cleanly.
// Calling it again returns the first call's result.
func (n *Network) Stop() error {
	n.stopOnce.Do(func() {
		var errs []error
		n.mu.Lock()
		for _, conn := range n.conns {
			conn.Close()
		}
		n.conns = nil
		n.mu.Unlock()
		if n.closer != nil {
			errs = append(errs, n.closer.Close())
		}
		memberErrs := make([]error, len(n.members))
		var wg sync.WaitGroup
		for i, m := range n.members {
			wg.Go(func() { memberErrs[i] = n.stopNode(m) })
		}
		wg.Wait()
		errs = append(errs, memberErrs...)
		if n.auditor != nil {
			if err := n.auditor.stop(n.cfg.StopTimeout); err != nil {
				errs = append(errs, fmt.Errorf("the auditor service (log %s): %w", filepath.Join(n.regulator.Dir, auditorLog), err))
			}
		}
		if n.regulator != nil {
			errs = append(errs, n.stopNode(n.regulator))
		}
		n.stopErr = errors.Join(errs...)
	})
	return n.stopErr
}

func (n *Network) stopNode(node *Node) error {
	if err := node.stop(n.cfg.StopTimeout); err != nil {
		return fmt.Errorf("%s (log %s): %w", node.MSPID, node.Log(), err)
	}
	return nil
}
