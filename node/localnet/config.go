package localnet

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/riskmesh/riskmesh/node/config"
)

// Defaults of Config's zero fields.
const (
	DefaultRegulator   = "RegulatorMSP"
	DefaultPrice       = 1
	DefaultLimit       = 1_000_000
	DefaultStopTimeout = 30 * time.Second
)

// Config describes a local consortium. Dir and Members are required; every
// other zero field takes the default written in its comment.
type Config struct {
	// Dir holds one directory per node (named by MSP id), created 0700;
	// it must not hold a node directory already. A relative path is made
	// absolute, as the nodes' configurations and Node's paths use it.
	Dir string
	// Binary is the riskmesh executable each node runs as
	// `Binary node --config node.yaml`. Default: os.Executable(), for a
	// program that is itself the riskmesh binary.
	Binary string
	// Regulator is the MSP id of the regulator, whose node hosts the
	// embedded ledger and which onboards the members. Default
	// DefaultRegulator.
	Regulator string
	// Members are the institutions, each a requester and, with
	// Categories, a provider.
	Members []Member
	// Auditor makes the regulator the consortium's auditor as well: it is
	// onboarded with the auditor role, runs the dispute service
	// (`riskmesh audit serve --config` on its node.yaml, logging to
	// auditor.log in its directory), and every member's node files the
	// answers it finds bad with it (node.yaml disputes:), so an upheld
	// dispute is reversed on the ledger by itself. Default off.
	Auditor bool
	// Prices are the price per item of each category, from period 1. A
	// category a member provides without a price here costs DefaultPrice.
	Prices map[string]int64
	// LivePrices are the price per item of categories in live mode
	// (docs/ledger.md, "Prices"), from period 1. A category without one
	// has no live price: its providers refuse live queries.
	LivePrices map[string]int64
	// Pprof makes every node serve Go's profiles and execution traces
	// (node.yaml listen.pprof) on a loopback port of its own, Node.Pprof,
	// for a benchmark that profiles the processes it measures. Default
	// off, as node.yaml's.
	Pprof bool
	// Tune, if set, adjusts each node's configuration (the regulator's
	// too) last, before it is written: tuning keys, metrics, log level.
	// The network relies on the peer address, the API socket
	// (data/api.sock), the ledger section and the sources as it set them.
	Tune func(mspID string, c *config.Config)
	// StopTimeout bounds the wait for a node to exit after SIGTERM before
	// it is killed. Default DefaultStopTimeout.
	StopTimeout time.Duration
	// Progress, if set, is called with a short description of each step
	// Start completes (no identifiers or secrets, only MSP ids).
	Progress func(step string)
}

// Member is one institution of the consortium.
type Member struct {
	// MSPID names the institution; required, unique.
	MSPID string
	// Name is its display name on the registry. Default: MSPID.
	Name string
	// Categories are the categories it provides; its identity gets an OPRF
	// key for each and it is onboarded as a provider. Empty: requester only.
	Categories []string
	// Sources are its lists (node/config sources: files or PostgreSQL);
	// relative paths are relative to the member's node directory. Each
	// source's category must be one of Categories.
	Sources []config.Source
	// Limit is its overdraft limit in tokens. Default DefaultLimit.
	Limit int64
	// Binary is the riskmesh executable its node runs, for a network of
	// mixed builds (two builds of a requester measured side by side, a
	// rolling upgrade). Default: Config.Binary.
	Binary string
}

// mspIDPattern is what node/config accepts as an MSP id.
var mspIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// withDefaults validates c and returns it with the defaults filled in.
func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, fmt.Errorf("%w: no directory", ErrConfig)
	}
	if len(c.Members) == 0 {
		return c, fmt.Errorf("%w: no members", ErrConfig)
	}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return c, fmt.Errorf("%w: directory: %w", ErrConfig, err)
	}
	c.Dir = dir
	if c.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return c, fmt.Errorf("%w: no binary and no executable path: %w", ErrConfig, err)
		}
		c.Binary = exe
	}
	c.Regulator = cmp.Or(c.Regulator, DefaultRegulator)
	if c.StopTimeout <= 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	if c.Progress == nil {
		c.Progress = func(string) {}
	}
	seen := map[string]bool{c.Regulator: true}
	if !mspIDPattern.MatchString(c.Regulator) {
		return c, fmt.Errorf("%w: regulator MSP id %q", ErrConfig, c.Regulator)
	}
	prices := make(map[string]int64, len(c.Prices))
	for cat, p := range c.Prices {
		if p < 0 {
			return c, fmt.Errorf("%w: negative price for %s", ErrConfig, cat)
		}
		prices[cat] = p
	}
	for cat, p := range c.LivePrices {
		if p < 0 {
			return c, fmt.Errorf("%w: negative live price for %s", ErrConfig, cat)
		}
	}
	members := make([]Member, len(c.Members))
	for i, m := range c.Members {
		if !mspIDPattern.MatchString(m.MSPID) {
			return c, fmt.Errorf("%w: member %d: MSP id %q", ErrConfig, i, m.MSPID)
		}
		if seen[m.MSPID] {
			return c, fmt.Errorf("%w: MSP id %s twice", ErrConfig, m.MSPID)
		}
		seen[m.MSPID] = true
		m.Name = cmp.Or(m.Name, m.MSPID)
		m.Limit = cmp.Or(m.Limit, DefaultLimit)
		if m.Limit < 0 {
			return c, fmt.Errorf("%w: %s: negative limit", ErrConfig, m.MSPID)
		}
		provided := make(map[string]bool, len(m.Categories))
		for _, cat := range m.Categories {
			provided[cat] = true
			if _, ok := prices[cat]; !ok {
				prices[cat] = DefaultPrice
			}
		}
		for _, s := range m.Sources {
			if !provided[s.Category] {
				return c, fmt.Errorf("%w: %s: source %q feeds category %q, which the member does not provide", ErrConfig, m.MSPID, s.Name, s.Category)
			}
		}
		members[i] = m
	}
	c.Members, c.Prices = members, prices
	return c, nil
}
