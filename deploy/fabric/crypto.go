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

// generateCrypto writes crypto-config.yaml and runs cryptogen. Node OUs are
// enabled so that the channel policies can tell admins, peers and clients
// apart ('Org.peer' endorses, 'Org.admin' approves chaincode).
func generateCrypto(ctx context.Context, l layout, binDir string) error {
	cfg := cryptoConfig{
		OrdererOrgs: []cryptoOrg{{
			Name: "Orderer", Domain: domain, EnableNodeOUs: true,
			Specs: []cryptoSpec{{Hostname: "orderer", SANS: loopbackSANs}},
		}},
	}
	for _, o := range Orgs {
		cfg.PeerOrgs = append(cfg.PeerOrgs, cryptoOrg{
			Name: o.MSPID, Domain: orgDomain(o.Name), EnableNodeOUs: true,
			Template: &cryptoTemplate{Count: 1, SANS: loopbackSANs},
			Users:    &cryptoUsers{Count: 1},
		})
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	file := filepath.Join(l.configDir(), "crypto-config.yaml")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return err
	}
	_, err = runTool(ctx, filepath.Join(binDir, "cryptogen"), nil, "",
		"generate", "--config", file, "--output", l.cryptoDir())
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
