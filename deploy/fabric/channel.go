package fabric

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// Block size limits. A record transaction of 500 entries carries each entry
// twice (arguments and write set), about 0.5 MB in all; these limits keep
// several such transactions per block and stay well under the 100 MB gRPC
// message limit of the peers and the orderer.
const (
	preferredMaxBytes = "4 MB"
	absoluteMaxBytes  = "16 MB"
)

// Raft timing for a single consenter on loopback: a 100 ms tick elects the
// only node within 1–2 s instead of the 5–10 s of the sample configuration.
const (
	raftTickInterval = "100ms"
	raftElectionTick = 10
)

type policy struct {
	Type string `yaml:"Type"`
	Rule string `yaml:"Rule"`
}

func signature(rule string) policy { return policy{Type: "Signature", Rule: rule} }
func implicit(rule string) policy  { return policy{Type: "ImplicitMeta", Rule: rule} }

type hostPort struct {
	Host string `yaml:"Host"`
	Port int    `yaml:"Port"`
}

type txOrg struct {
	Name             string            `yaml:"Name"`
	ID               string            `yaml:"ID"`
	MSPDir           string            `yaml:"MSPDir"`
	Policies         map[string]policy `yaml:"Policies"`
	OrdererEndpoints []string          `yaml:"OrdererEndpoints,omitempty"`
	AnchorPeers      []hostPort        `yaml:"AnchorPeers,omitempty"`
}

// channelSettings are the founding choices of the channel that the
// configtx.yaml profiles are built from.
type channelSettings struct {
	base         int
	orgs         []OrgSpec // the organisations, in port order
	orderers     int       // the first orderers organisations run an orderer
	batchTimeout time.Duration
	maxMessages  int
}

// ordererOrg describes the ordering organisation that org runs, with its
// orderer's endpoint.
func ordererOrg(l layout, base, j int, o OrgSpec) txOrg {
	id := o.ordererMSPID()
	return txOrg{
		Name: id, ID: id, MSPDir: filepath.Join(l.ordererOrgDir(o.Name), "msp"),
		Policies: map[string]policy{
			"Readers": signature(fmt.Sprintf("OR('%s.member')", id)),
			"Writers": signature(fmt.Sprintf("OR('%s.member')", id)),
			"Admins":  signature(fmt.Sprintf("OR('%s.admin')", id)),
		},
		OrdererEndpoints: []string{addr(ordererBase(base, j) + ordererPortOffset)},
	}
}

// applicationOrg describes peer organisation i: the same definition for a
// founding organisation and for one that joins later.
func applicationOrg(l layout, base, i int, o OrgSpec) txOrg {
	id := o.MSPID
	return txOrg{
		Name: id, ID: id, MSPDir: filepath.Join(l.peerOrgDir(o.Name), "msp"),
		Policies: map[string]policy{
			"Readers":     signature(fmt.Sprintf("OR('%[1]s.admin','%[1]s.peer','%[1]s.client')", id)),
			"Writers":     signature(fmt.Sprintf("OR('%[1]s.admin','%[1]s.client')", id)),
			"Admins":      signature(fmt.Sprintf("OR('%s.admin')", id)),
			"Endorsement": signature(fmt.Sprintf("OR('%s.peer')", id)),
		},
		// Anchor peers are how one organisation's gateway learns the
		// other organisations' peers (gossip), and so can collect a
		// majority of endorsements.
		AnchorPeers: []hostPort{{Host: "127.0.0.1", Port: peerPort(base, i)}},
	}
}

// profile returns the configtx.yaml profile of a channel whose application
// organisations are appOrgs and whose ordering service is the founding one.
func (s channelSettings) profile(l layout, appOrgs []txOrg) map[string]any {
	var ordererOrgs []txOrg
	var consenters []map[string]any
	for j, o := range s.orgs[:s.orderers] {
		ordererOrgs = append(ordererOrgs, ordererOrg(l, s.base, j, o))
		tlsCert := filepath.Join(l.ordererNodeDir(o.Name), "tls", "server.crt")
		consenters = append(consenters, map[string]any{
			"Host": "127.0.0.1", "Port": ordererBase(s.base, j) + ordererPortOffset,
			"ClientTLSCert": tlsCert, "ServerTLSCert": tlsCert,
		})
	}
	return map[string]any{
		// MAJORITY Admins at every level: a configuration change, such as
		// adding an organisation, needs a majority of the admins of the
		// group it changes.
		"Policies": map[string]policy{
			"Readers": implicit("ANY Readers"),
			"Writers": implicit("ANY Writers"),
			"Admins":  implicit("MAJORITY Admins"),
		},
		"Capabilities": map[string]bool{"V2_0": true},
		"Orderer": map[string]any{
			"OrdererType":  "etcdraft",
			"BatchTimeout": s.batchTimeout.String(),
			"BatchSize": map[string]any{
				"MaxMessageCount":   s.maxMessages,
				"AbsoluteMaxBytes":  absoluteMaxBytes,
				"PreferredMaxBytes": preferredMaxBytes,
			},
			"EtcdRaft": map[string]any{
				"Consenters": consenters,
				"Options": map[string]any{
					"TickInterval": raftTickInterval, "ElectionTick": raftElectionTick,
					"HeartbeatTick": 1, "MaxInflightBlocks": 5, "SnapshotIntervalSize": "16 MB",
				},
			},
			"Organizations": ordererOrgs,
			"Policies": map[string]policy{
				"Readers":         implicit("ANY Readers"),
				"Writers":         implicit("ANY Writers"),
				"Admins":          implicit("MAJORITY Admins"),
				"BlockValidation": implicit("ANY Writers"),
			},
			"Capabilities": map[string]bool{"V2_0": true},
		},
		"Application": map[string]any{
			"Organizations": appOrgs,
			// MAJORITY Endorsement: a majority of the organisations endorse
			// every transaction (3 of 4), so no single institution (nor the
			// regulator) can write alone; see docs/fabric-network.md.
			"Policies": map[string]policy{
				"LifecycleEndorsement": implicit("MAJORITY Endorsement"),
				"Endorsement":          implicit("MAJORITY Endorsement"),
				"Readers":              implicit("ANY Readers"),
				"Writers":              implicit("ANY Writers"),
				"Admins":               implicit("MAJORITY Admins"),
			},
			"Capabilities": map[string]bool{"V2_5": true},
		},
	}
}

// writeGenesis writes configtx.yaml with one profile, "RiskMesh", and has
// configtxgen turn it into the channel's genesis block.
func writeGenesis(ctx context.Context, l layout, binDir string, s channelSettings) error {
	var appOrgs []txOrg
	for i, o := range s.orgs {
		appOrgs = append(appOrgs, applicationOrg(l, s.base, i, o))
	}
	return configtxgen(ctx, binDir, l.configDir(), s.profile(l, appOrgs), l.genesisBlock())
}

// configtxgen writes profile as the "RiskMesh" profile of dir/configtx.yaml
// and has configtxgen turn it into a genesis block at out.
func configtxgen(ctx context.Context, binDir, dir string, profile map[string]any, out string) error {
	b, err := yaml.Marshal(map[string]any{"Profiles": map[string]any{"RiskMesh": profile}})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "configtx.yaml"), b, 0o644); err != nil {
		return err
	}
	_, err = runTool(ctx, filepath.Join(binDir, "configtxgen"), nil, "",
		"-configPath", dir, "-profile", "RiskMesh", "-channelID", ChannelName, "-outputBlock", out)
	return err
}
