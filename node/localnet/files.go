package localnet

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/identity"
)

// consortiumFile is the name of the consortium file in the regulator's
// directory.
const consortiumFile = "consortium.yaml"

// newNode creates msp's directory and identity with an OPRF key for each
// category, and picks its loopback addresses.
func newNode(root, msp string, categories []string) (*Node, error) {
	n := &Node{MSPID: msp, Dir: filepath.Join(root, msp)}
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
	if n.Endpoint, err = freeAddr("udp"); err != nil {
		return nil, err
	}
	if n.Metrics, err = freeAddr("tcp"); err != nil {
		return nil, err
	}
	return n, nil
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(network string) (string, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("find a free UDP port: %w", err)
		}
		defer c.Close()
		return c.LocalAddr().String(), nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free TCP port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
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
