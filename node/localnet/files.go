package localnet

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/identity"
)

// consortiumFile is the name of the consortium file in the regulator's
// directory.
const consortiumFile = "consortium.yaml"

// newNode creates msp's directory and identity with an OPRF key for each
// category, and picks its loopback addresses (a profiles one with pprof).
// The node runs binary.
func newNode(root, msp, binary string, categories []string, pprof bool) (*Node, error) {
	n := &Node{MSPID: msp, Dir: filepath.Join(root, msp), Pprof: config.Off, binary: binary}
	if _, err := os.Stat(n.Dir); err == nil {
		return nil, fmt.Errorf("%w: %s exists already", ErrConfig, n.Dir)
	}
	if err := os.MkdirAll(n.Dir, 0o700); err != nil {
		return nil, err
	}
	if err := identity.Generate(n.IdentityDir(), msp, categories, nil); err != nil {
		return nil, fmt.Errorf("identity of %s: %w", msp, err)
	}
	var err error
	if n.Endpoint, err = pickAddr("udp"); err != nil {
		return nil, err
	}
	if n.Metrics, err = pickAddr("tcp"); err != nil {
		return nil, err
	}
	if pprof {
		if n.Pprof, err = pickAddr("tcp"); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// pickAddr is how the network picks a node's address: freeAddr, which a
// test replaces to hand out a port it holds.
var pickAddr = freeAddr

// maxPicks bounds freeAddr's attempts to find a port it has not handed out
// before.
const maxPicks = 64

// handedOut holds the addresses freeAddr has returned in this process, by
// network: two networks starting at once in one program (tests in one
// binary) never pick the same port, as listen-and-close alone could.
var handedOut = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

// freeAddr returns a loopback address of network ("udp" or "tcp") whose
// port was free a moment ago and that this process has not handed out
// before. Another program (or an outgoing connection's ephemeral port) can
// still take it before the node binds it: Start and Restart then move the
// node to fresh ports (Network.moveLost).
func freeAddr(network string) (string, error) {
	for range maxPicks {
		addr, err := bindOnce(network, "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("find a free %s port: %w", network, err)
		}
		handedOut.Lock()
		fresh := !handedOut.addrs[network+"/"+addr]
		handedOut.addrs[network+"/"+addr] = true
		handedOut.Unlock()
		if fresh {
			return addr, nil
		}
	}
	return "", fmt.Errorf("find a free %s port: %d picks were all handed out before", network, maxPicks)
}

// bindOnce binds addr of network ("udp" or "tcp") and closes it at once;
// it returns the address bound, which names the port the system chose for
// port 0.
func bindOnce(network, addr string) (string, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return "", err
		}
		defer c.Close()
		return c.LocalAddr().String(), nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// taken reports whether addr of network cannot be bound now: another
// socket holds it.
func taken(network, addr string) bool {
	_, err := bindOnce(network, addr)
	return err != nil
}

// writeConsortium writes the regulator's consortium file from the
// members' public identity files.
func writeConsortium(reg *Node, members []*Node) error {
	ms := make([]identity.Member, 0, len(members))
	for _, m := range members {
		im, err := identity.ReadMember(m.IdentityDir())
		if err != nil {
			return err
		}
		ms = append(ms, im)
	}
	c, err := identity.NewConsortium(ms)
	if err != nil {
		return err
	}
	data, err := c.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(reg.Dir, consortiumFile), data, 0o644)
}

// localTuning makes a loopback network react in about a second where the
// defaults, made for a WAN, take several.
func localTuning(c *config.Config) {
	c.Registry.Refresh = registryRefresh
	c.Requester.CatalogRetry = catalogRetry
	c.Requester.MaxCatalogRetry = maxCatalogRetry
	c.Disputes.Retry = disputeRetry
}

// regulatorConfig is the regulator's node.yaml: it hosts the embedded
// ledger and provides nothing.
func regulatorConfig(reg *Node) *config.Config {
	c := nodeConfig(reg)
	c.Ledger = config.Ledger{Backend: config.BackendEmbedded, Embedded: &config.Embedded{ConsortiumFile: consortiumFile}}
	return c
}

// memberConfig is a member's node.yaml: the embedded ledger through the
// regulator's node, pinned by its certificate, the member's sources and,
// when auditorAddr is set, disputes filed with the regulator's auditor
// service there.
func memberConfig(n, reg *Node, regID *identity.Identity, sources []config.Source, auditorAddr string) *config.Config {
	c := nodeConfig(n)
	c.Ledger = config.Ledger{Backend: config.BackendEmbeddedRemote, Remote: &config.Remote{
		MSPID:          reg.MSPID,
		Endpoint:       reg.Endpoint,
		TLSFingerprint: hex.EncodeToString(regID.Fingerprint[:]),
	}}
	c.Provider.Sources = sources
	if auditorAddr != "" {
		c.Disputes.AuditorMSP, c.Disputes.AuditorAddress = reg.MSPID, auditorAddr
	}
	return c
}

// nodeConfig is the part of node.yaml every node shares.
func nodeConfig(n *Node) *config.Config {
	c := config.Default()
	c.MSPID = n.MSPID
	c.Listen.Peer = n.Endpoint
	c.Listen.Metrics = n.Metrics
	c.Listen.Pprof = n.Pprof
	localTuning(c)
	return c
}

// writeConfig applies tune, checks c the way the node will and writes it as
// n's node.yaml.
func writeConfig(n *Node, c *config.Config, tune func(string, *config.Config)) error {
	if tune != nil {
		tune(n.MSPID, c)
	}
	data, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("node.yaml of %s: %w", n.MSPID, err)
	}
	if _, err := config.Parse(data, n.Dir); err != nil {
		return fmt.Errorf("node.yaml of %s: %w", n.MSPID, err)
	}
	if err := os.WriteFile(n.Config(), data, 0o600); err != nil {
		return err
	}
	n.conf = c
	return nil
}
