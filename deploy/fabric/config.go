package fabric

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Fixed names of the network. The conformance suite of accounting relies on
// the MSP ids.
const (
	ChannelName   = "riskmesh"
	ChaincodeName = "riskmesh"
	// RegulatorMSPID is the organisation the chaincode server is configured
	// to treat as the regulator (RISKMESH_REGULATOR_MSPID).
	RegulatorMSPID = "RegulatorMSP"
)

// DefaultBasePort is the first port of the block used when Config.BasePort is
// zero and the block is free; otherwise the next free block of
// portBlockSize ports is used. A block another network is being brought up
// on counts as taken (claimBlock).
const DefaultBasePort = 27050

// Port layout, relative to the base port. Every listener is on 127.0.0.1 and
// explicit: Fabric's defaults collide (peer operations 9443 = orderer admin
// 9443, every peer's chaincode port 7052). Orderer j uses B+10j..B+10j+4,
// chaincode server slot k uses B+10k+3 and the peer of organisation i uses
// B+30+10i..B+30+10i+3 (docs/fabric-network.md, "Ports").
const (
	ordererPortOffset      = 0 // orderer gRPC (broadcast, deliver, cluster)
	ordererAdminOffset     = 1 // channel participation API (osnadmin)
	ordererOpsOffset       = 2 // /healthz, /metrics
	chaincodePortOffset    = 3 // a chaincode-as-a-service server
	ordererProfileOffset   = 4 // pprof
	ordererStride          = 10
	maxOrderers            = 3
	chaincodeSlots         = 3 // servers of consecutive sequences use different ports
	firstPeerOffset        = 30
	peerStride             = 10
	peerListenOffset       = 0 // peer gRPC: endorser, gateway, deliver, gossip
	peerChaincodeOffset    = 1 // chaincode listener (unused by ccaas, still bound)
	peerOpsOffset          = 2 // /healthz, /metrics
	peerProfileOffset      = 3 // pprof
	maxOrgs                = 7
	portBlockSize          = 100
	maxPortBlocksToTry     = 20
	defaultBatchTimeout    = 100 * time.Millisecond
	defaultStartTimeout    = 2 * time.Minute
	defaultGatewayLimit    = 10000
	defaultMaxMessageCount = 500
	defaultMemoryLimitMiB  = 256
	defaultOrderers        = 3
)

// OrgSpec names one peer organisation.
type OrgSpec struct {
	Name  string // lower-case letters and digits, used for the domain and folder names
	MSPID string
}

// ordererMSPID is the MSP id of the ordering organisation that o runs: a
// separate MSP in o's own directory, because cryptogen issues orderer
// identities only to orderer organisations.
func (o OrgSpec) ordererMSPID() string {
	return strings.TrimSuffix(o.MSPID, "MSP") + "OrdererMSP"
}

// validOrgs checks a list of organisations: names usable in host names and
// paths, no MSP id or name twice, at most maxOrgs.
func validOrgs(orgs []OrgSpec) error {
	if len(orgs) == 0 || len(orgs) > maxOrgs {
		return fmt.Errorf("%w: %d organisations, want 1 to %d", ErrConfig, len(orgs), maxOrgs)
	}
	seen := map[string]bool{}
	for _, o := range orgs {
		if !validName(o.Name) || !validName(o.MSPID) || !strings.HasSuffix(o.MSPID, "MSP") {
			return fmt.Errorf("%w: organisation %q (%q): names are letters and digits, MSP ids end in MSP", ErrConfig, o.Name, o.MSPID)
		}
		if o.Name != strings.ToLower(o.Name) || seen[o.Name] || seen[o.MSPID] {
			return fmt.Errorf("%w: organisation %q (%q) repeated or not lower-case", ErrConfig, o.Name, o.MSPID)
		}
		seen[o.Name], seen[o.MSPID] = true, true
	}
	return nil
}

func validName(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// Orgs are the organisations of the network, in port order: each has one peer
// and one client user (User1). RegulatorMSP holds the regulator role in the
// chaincode configuration; the banks are ordinary institutions.
var Orgs = []OrgSpec{
	{Name: "regulator", MSPID: RegulatorMSPID},
	{Name: "bank1", MSPID: "Bank1MSP"},
	{Name: "bank2", MSPID: "Bank2MSP"},
	{Name: "bank3", MSPID: "Bank3MSP"},
}

// Config describes a network to bring up. The zero value works from inside
// the repository checkout (it builds what it needs and picks free ports).
type Config struct {
	// Orgs are the founding organisations, in port order; each creates its
	// own crypto material in its own folder and runs one peer. Default: Orgs
	// (the regulator and three banks). Organisations added later take the
	// next port slots (at most 7 in all).
	Orgs []OrgSpec
	// Orderers is how many of the founding organisations, from the first,
	// each run one Raft orderer (an ordering organisation of their own).
	// Default: 3, or every founding organisation if there are fewer; the
	// channel keeps ordering with one of three stopped.
	Orderers int
	// DataDir holds everything the network writes: crypto material,
	// configuration, ledgers, logs and pid files. Default:
	// <repo>/deploy/fabric/.run. It is wiped at the start of Up unless Keep
	// is set.
	DataDir string
	// BasePort is the first of the ports used (see the port layout in
	// docs/fabric-network.md; the network uses BasePort..BasePort+49).
	// Default: DefaultBasePort, or the first free block above it; a block
	// another network is being brought up on is not free, on this
	// machine, even before that network binds its ports.
	BasePort int
	// RepoDir is the root of the riskmesh checkout, used to build the Fabric
	// binaries and the chaincode server. Default: found by walking up from
	// the working directory to the go.mod of github.com/riskmesh/riskmesh.
	RepoDir string
	// BinDir holds peer, orderer, configtxgen, cryptogen and osnadmin.
	// Default: <repo>/deploy/fabric/.bin; missing binaries are built there.
	BinDir string
	// Chaincode is the chaincode server to run. Default: built from
	// ./cmd/riskmesh-chaincode.
	Chaincode ChaincodeConfig
	// BatchTimeout is the orderer's block-cutting timeout. Default: 100ms,
	// which keeps single-transaction latency low on a test network.
	BatchTimeout time.Duration
	// MaxMessageCount bounds transactions per block. Default: 500.
	MaxMessageCount int
	// MemoryLimitMiB is the soft memory limit (GOMEMLIMIT) of every process
	// the network starts. Default: 256, under which the whole network stays
	// within about 1.2 GiB while 500-entry batches are endorsed; 128 keeps it
	// near 700 MiB but makes the garbage collector the bottleneck of large
	// batches (docs/fabric-network.md, "Memory").
	MemoryLimitMiB int
	// LogSpec is FABRIC_LOGGING_SPEC for the peers and the orderer.
	// Default: "info".
	LogSpec string
	// StartTimeout bounds the bring-up after the binaries are built (the
	// build is bounded by the caller's context only). Default: 2 minutes.
	StartTimeout time.Duration
	// KillWithParent makes every started process die with the calling
	// process (Linux parent-death signal). Tests set it, so that a panic or a
	// test timeout never leaves a network behind; the CLI leaves it off so
	// that `up` can return.
	KillWithParent bool
	// Logger receives progress events. Default: discarded.
	Logger *slog.Logger
}

// ChaincodeConfig describes the chaincode-as-a-service server. The network
// sets CHAINCODE_ID (the package id), CHAINCODE_SERVER_ADDRESS and
// RISKMESH_REGULATOR_MSPID (RegulatorMSPID) in its environment, as
// cmd/riskmesh-chaincode expects.
type ChaincodeConfig struct {
	// Binary is a built chaincode server. Default: go build
	// ./cmd/riskmesh-chaincode from RepoDir into DataDir/bin.
	Binary string
	// Args are passed to the binary.
	Args []string
	// Env is added to the binary's environment, after (so overriding) the
	// variables the network sets.
	Env []string
	// Label is the chaincode package label. Default: "riskmesh_1".
	Label string
}

func (c *Config) setDefaults() error {
	if c.RepoDir == "" {
		dir, err := FindRepoDir()
		if err != nil {
			return err
		}
		c.RepoDir = dir
	}
	c.DataDir = cmp.Or(c.DataDir, filepath.Join(c.RepoDir, "deploy", "fabric", ".run"))
	c.BinDir = cmp.Or(c.BinDir, filepath.Join(c.RepoDir, "deploy", "fabric", ".bin"))
	var err error
	for _, p := range []*string{&c.DataDir, &c.BinDir, &c.RepoDir} {
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
	}
	if c.Chaincode.Binary != "" {
		if c.Chaincode.Binary, err = filepath.Abs(c.Chaincode.Binary); err != nil {
			return err
		}
	}
	if c.Orgs == nil {
		c.Orgs = Orgs
	}
	if err := validOrgs(c.Orgs); err != nil {
		return err
	}
	c.Orderers = cmp.Or(c.Orderers, min(defaultOrderers, len(c.Orgs)))
	if c.Orderers < 1 || c.Orderers > min(maxOrderers, len(c.Orgs)) {
		return fmt.Errorf("%w: %d orderers for %d organisations (at most %d)", ErrConfig, c.Orderers, len(c.Orgs), maxOrderers)
	}
	c.Chaincode.Label = cmp.Or(c.Chaincode.Label, "riskmesh_1")
	c.BatchTimeout = cmp.Or(c.BatchTimeout, defaultBatchTimeout)
	c.MaxMessageCount = cmp.Or(c.MaxMessageCount, defaultMaxMessageCount)
	c.MemoryLimitMiB = cmp.Or(c.MemoryLimitMiB, defaultMemoryLimitMiB)
	if c.MemoryLimitMiB < 0 {
		return fmt.Errorf("%w: memory limit %d MiB", ErrConfig, c.MemoryLimitMiB)
	}
	c.LogSpec = cmp.Or(c.LogSpec, "info")
	c.StartTimeout = cmp.Or(c.StartTimeout, defaultStartTimeout)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	return nil
}

// choosePorts picks the base port of a new network and claims its block
// (claimBlock) until the returned claim is closed: BasePort if its block
// is free and unclaimed, else the first such block from DefaultBasePort.
func (c *Config) choosePorts() (io.Closer, error) {
	if c.BasePort == 0 {
		base, claim, err := freePortBlock(DefaultBasePort)
		if err != nil {
			return nil, err
		}
		c.BasePort = base
		return claim, nil
	}
	if c.BasePort < 1024 || c.BasePort+networkPortSpan() > 65535 {
		return nil, fmt.Errorf("%w: base port %d", ErrConfig, c.BasePort)
	}
	return claimFree(c.BasePort)
}

// networkPortSpan is the number of ports from the base port to the last one
// used.
func networkPortSpan() int {
	return firstPeerOffset + peerStride*maxOrgs
}

// usedPorts lists every port a network at base may listen on: every
// orderer, chaincode and peer slot, so that organisations added later find
// their ports free too.
func usedPorts(base int) []int {
	var ports []int
	for j := range maxOrderers {
		o := ordererBase(base, j)
		ports = append(ports, o+ordererPortOffset, o+ordererAdminOffset, o+ordererOpsOffset, o+ordererProfileOffset)
	}
	for k := range chaincodeSlots {
		ports = append(ports, chaincodePort(base, k+1))
	}
	for i := range maxOrgs {
		p := peerPort(base, i)
		ports = append(ports, p+peerListenOffset, p+peerChaincodeOffset, p+peerOpsOffset, p+peerProfileOffset)
	}
	return ports
}

// ordererBase is the first port of orderer j.
func ordererBase(base, j int) int { return base + ordererStride*j }

// peerPort is the gRPC port of the peer of organisation i.
func peerPort(base, i int) int { return base + firstPeerOffset + peerStride*i + peerListenOffset }

// chaincodePort is the port of the chaincode server of a definition's
// sequence: consecutive sequences use different slots, so that an upgrade
// starts the new server while the old one still serves.
func chaincodePort(base, sequence int) int {
	return base + ordererStride*((sequence-1)%chaincodeSlots) + chaincodePortOffset
}

// portsFree checks that every port of a network at base can be bound now.
func portsFree(base int) error {
	for _, port := range usedPorts(base) {
		l, err := net.Listen("tcp", addr(port))
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrPortInUse, addr(port), err)
		}
		l.Close()
	}
	return nil
}

// freePortBlock returns the first base port, from start in steps of
// portBlockSize, whose block is unclaimed and whose ports are all free,
// with its claim.
func freePortBlock(start int) (int, io.Closer, error) {
	var last error
	for i := range maxPortBlocksToTry {
		base := start + i*portBlockSize
		claim, err := claimFree(base)
		if err == nil {
			return base, claim, nil
		}
		last = err
	}
	return 0, nil, last
}

// claimFree claims the block at base and checks that its ports are free.
func claimFree(base int) (io.Closer, error) {
	claim, err := claimBlock(base)
	if err != nil {
		return nil, err
	}
	if err := portsFree(base); err != nil {
		claim.Close()
		return nil, err
	}
	return claim, nil
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// ParseOrgs reads a comma-separated list of name:MSPID pairs, such as
// "regulator:RegulatorMSP,bank1:Bank1MSP", and checks it as Config.Orgs.
func ParseOrgs(s string) ([]OrgSpec, error) {
	var orgs []OrgSpec
	for _, item := range strings.Split(s, ",") {
		name, msp, ok := strings.Cut(strings.TrimSpace(item), ":")
		if !ok {
			return nil, fmt.Errorf("%w: %q is not name:MSPID", ErrConfig, item)
		}
		orgs = append(orgs, OrgSpec{Name: name, MSPID: msp})
	}
	if err := validOrgs(orgs); err != nil {
		return nil, err
	}
	return orgs, nil
}
