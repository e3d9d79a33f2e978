package fabric

import (
	"context"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// loopbackSANs go into every TLS certificate so that dials to 127.0.0.1 (and
// localhost) verify without hostname overrides.
var loopbackSANs = []string{"localhost", "127.0.0.1"}

// cryptoConfig mirrors the part of cryptogen's crypto-config.yaml we use.
type cryptoConfig struct {
	OrdererOrgs []cryptoOrg `yaml:"OrdererOrgs"`
	PeerOrgs    []cryptoOrg `yaml:"PeerOrgs"`
}

type cryptoOrg struct {
	Name          string          `yaml:"Name"`
	Domain        string          `yaml:"Domain"`
	EnableNodeOUs bool            `yaml:"EnableNodeOUs"`
	Specs         []cryptoSpec    `yaml:"Specs,omitempty"`
	Template      *cryptoTemplate `yaml:"Template,omitempty"`
	Users         *cryptoUsers    `yaml:"Users,omitempty"`
}

type cryptoSpec struct {
	Hostname string   `yaml:"Hostname"`
	SANS     []string `yaml:"SANS"`
}

type cryptoTemplate struct {
	Count int      `yaml:"Count"`
	SANS  []string `yaml:"SANS"`
}

type cryptoUsers struct {
	Count int `yaml:"Count"`
}

// generateOrgCrypto writes org's own crypto-config.yaml in its folder and
// runs cryptogen on it: every organisation generates its keys alone, and no
// configuration lists another organisation. Node OUs are enabled so that
// the channel policies can tell admins, peers and clients apart ('Org.peer'
// endorses, 'Org.admin' approves chaincode). An organisation that runs an
// orderer also gets an ordering organisation of its own.
func generateOrgCrypto(ctx context.Context, l layout, binDir string, o OrgSpec, runsOrderer bool) error {
	cfg := cryptoConfig{
		PeerOrgs: []cryptoOrg{{
			Name: o.MSPID, Domain: orgDomain(o.Name), EnableNodeOUs: true,
			Template: &cryptoTemplate{Count: 1, SANS: loopbackSANs},
			Users:    &cryptoUsers{Count: 1},
		}},
	}
	if runsOrderer {
		cfg.OrdererOrgs = []cryptoOrg{{
			Name: o.ordererMSPID(), Domain: ordererDomain(o.Name), EnableNodeOUs: true,
			Specs: []cryptoSpec{{Hostname: "orderer0", SANS: loopbackSANs}},
		}}
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	dirs := []string{l.orgDir(o.Name), l.peerDir(o.Name)}
	if runsOrderer {
		dirs = append(dirs, l.ordererDir(o.Name))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	file := filepath.Join(l.orgDir(o.Name), "crypto-config.yaml")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return err
	}
	_, err = runTool(ctx, filepath.Join(binDir, "cryptogen"), nil, "",
		"generate", "--config", file, "--output", l.cryptoDir(o.Name))
	return err
}

// userKeyFile returns the private key file of a cryptogen MSP folder.
func userKeyFile(mspDir string) (string, error) {
	keys, err := filepath.Glob(filepath.Join(mspDir, "keystore", "*"))
	if err != nil {
		return "", err
	}
	if len(keys) != 1 {
		return "", os.ErrNotExist
	}
	return keys[0], nil
}

// userCertFile returns the signing certificate of a cryptogen MSP folder.
func userCertFile(mspDir string) (string, error) {
	certs, err := filepath.Glob(filepath.Join(mspDir, "signcerts", "*.pem"))
	if err != nil {
		return "", err
	}
	if len(certs) != 1 {
		return "", os.ErrNotExist
	}
	return certs[0], nil
}
