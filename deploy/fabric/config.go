package fabric

import (
	"cmp"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"
)

// Fixed names of the network. The conformance suite of accounting relies on
// the MSP ids.
const (
	ChannelName   = "riskmesh"
	ChaincodeName = "riskmesh"
	OrdererMSPID  = "OrdererMSP"
	// RegulatorMSPID is the organisation the chaincode server is configured
	// to treat as the regulator (RISKMESH_REGULATOR_MSPID).
	RegulatorMSPID = "RegulatorMSP"
)

// DefaultBasePort is the first port of the block used when Config.BasePort is
// zero and the block is free; otherwise the next free block of
// portBlockSize ports is used.
const DefaultBasePort = 27050

// Port layout, relative to the base port. Every listener is on 127.0.0.1 and
// explicit: Fabric's defaults collide (peer operations 9443 = orderer admin
// 9443, every peer's chaincode port 7052).
const (
	ordererPortOffset      = 0 // orderer gRPC (broadcast, deliver, cluster)
	ordererAdminOffset     = 1 // channel participation API (osnadmin)
	ordererOpsOffset       = 2 // /healthz, /metrics
	chaincodePortOffset    = 3 // the chaincode-as-a-service server
	ordererProfileOffset   = 4 // pprof
	firstPeerOffset        = 10
	peerStride             = 10
	peerListenOffset       = 0 // peer gRPC: endorser, gateway, deliver, gossip
	peerChaincodeOffset    = 1 // chaincode listener (unused by ccaas, still bound)
	peerOpsOffset          = 2 // /healthz, /metrics
	peerProfileOffset      = 3 // pprof
	portBlockSize          = 100
	maxPortBlocksToTry     = 20
	defaultBatchTimeout    = 100 * time.Millisecond
	defaultStartTimeout    = 2 * time.Minute
	defaultGatewayLimit    = 10000
	defaultMaxMessageCount = 500
	defaultMemoryLimitMiB  = 256
)

// OrgSpec names one peer organisation.
type OrgSpec struct {
	Name  string // lower-case, used for the domain and folder names
	MSPID string
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
	// DataDir holds everything the network writes: crypto material,
	// configuration, ledgers, logs and pid files. Default:
	// <repo>/deploy/fabric/.run. It is wiped at the start of Up unless Keep
	// is set.
	DataDir string
	// BasePort is the first of the ports used (see the port layout in
	// docs/fabric-network.md; the network uses BasePort..BasePort+49).
	// Default: DefaultBasePort, or the first free block above it.
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
	if c.BasePort == 0 {
		base, err := freePortBlock(DefaultBasePort)
		if err != nil {
			return err
		}
		c.BasePort = base
	} else if err := portsFree(c.BasePort); err != nil {
		return err
	}
	if c.BasePort < 1024 || c.BasePort+networkPortSpan() > 65535 {
		return fmt.Errorf("%w: base port %d", ErrConfig, c.BasePort)
	}
	return nil
}

// networkPortSpan is the number of ports from the base port to the last one
// used.
func networkPortSpan() int {
	return firstPeerOffset + peerStride*len(Orgs)
}

// usedPorts lists every port a network at base listens on.
func usedPorts(base int) []int {
	ports := []int{
		base + ordererPortOffset, base + ordererAdminOffset, base + ordererOpsOffset,
		base + chaincodePortOffset, base + ordererProfileOffset,
	}
	for i := range Orgs {
		p := base + firstPeerOffset + peerStride*i
		ports = append(ports, p+peerListenOffset, p+peerChaincodeOffset, p+peerOpsOffset, p+peerProfileOffset)
	}
	return ports
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
// portBlockSize, whose ports are all free.
func freePortBlock(start int) (int, error) {
	var last error
	for i := range maxPortBlocksToTry {
		base := start + i*portBlockSize
		if last = portsFree(base); last == nil {
			return base, nil
		}
	}
	return 0, last
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
