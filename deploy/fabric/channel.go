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

// writeConfigtx writes configtx.yaml with one profile, "RiskMesh", and has
// configtxgen turn it into the channel's genesis block.
func writeConfigtx(ctx context.Context, l layout, binDir string, base int, batchTimeout time.Duration, maxMessages int) error {
	ordererOrg := txOrg{
		Name: "Orderer", ID: OrdererMSPID, MSPDir: filepath.Join(l.ordererOrgDir(), "msp"),
		Policies: map[string]policy{
			"Readers": signature(fmt.Sprintf("OR('%s.member')", OrdererMSPID)),
			"Writers": signature(fmt.Sprintf("OR('%s.member')", OrdererMSPID)),
			"Admins":  signature(fmt.Sprintf("OR('%s.admin')", OrdererMSPID)),
		},
		OrdererEndpoints: []string{addr(base + ordererPortOffset)},
	}
	var appOrgs []txOrg
	for i, o := range Orgs {
		id := o.MSPID
		appOrgs = append(appOrgs, txOrg{
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
		})
	}
	ordererTLSCert := filepath.Join(l.ordererNodeDir(), "tls", "server.crt")
	profile := map[string]any{
		"Policies": map[string]policy{
			"Readers": implicit("ANY Readers"),
			"Writers": implicit("ANY Writers"),
			"Admins":  implicit("MAJORITY Admins"),
		},
		"Capabilities": map[string]bool{"V2_0": true},
		"Orderer": map[string]any{
			"OrdererType":  "etcdraft",
			"BatchTimeout": batchTimeout.String(),
			"BatchSize": map[string]any{
				"MaxMessageCount":   maxMessages,
				"AbsoluteMaxBytes":  absoluteMaxBytes,
				"PreferredMaxBytes": preferredMaxBytes,
			},
			"EtcdRaft": map[string]any{
				"Consenters": []map[string]any{{
					"Host": "127.0.0.1", "Port": base + ordererPortOffset,
					"ClientTLSCert": ordererTLSCert, "ServerTLSCert": ordererTLSCert,
				}},
				"Options": map[string]any{
					"TickInterval": raftTickInterval, "ElectionTick": raftElectionTick,
					"HeartbeatTick": 1, "MaxInflightBlocks": 5, "SnapshotIntervalSize": "16 MB",
				},
			},
			"Organizations": []txOrg{ordererOrg},
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
			// MAJORITY Endorsement: 3 of the 4 organisations endorse every
			// transaction, so no single institution (nor the regulator) can
			// write alone; see docs/fabric-network.md.
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
	b, err := yaml.Marshal(map[string]any{"Profiles": map[string]any{"RiskMesh": profile}})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(l.configDir(), "configtx.yaml"), b, 0o644); err != nil {
		return err
	}
	_, err = runTool(ctx, filepath.Join(binDir, "configtxgen"), nil, "",
		"-configPath", l.configDir(), "-profile", "RiskMesh",
		"-channelID", ChannelName, "-outputBlock", l.genesisBlock())
	return err
}

func peerPort(base, i int) int { return base + firstPeerOffset + peerStride*i + peerListenOffset }
