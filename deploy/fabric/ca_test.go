package fabric

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cb "github.com/hyperledger/fabric-protos-go-apiv2/common"
	mspproto "github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// testOrgDir writes a peer organisation folder as cryptogen lays it out:
// its CAs, its public MSP folder, one peer and one user with MSP and TLS
// folders. It returns the folder and the old CAs.
func testOrgDir(t *testing.T) (dir string, ca, tlsCA testCA) {
	t.Helper()
	dir = t.TempDir()
	ca = makeCA(t, filepath.Join(dir, "ca"), "ca.bank3.riskmesh.test")
	tlsCA = makeCA(t, filepath.Join(dir, "tlsca"), "tlsca.bank3.riskmesh.test")
	mspDirs := []string{filepath.Join(dir, "msp")}
	for _, id := range []struct{ node, ou, tlsName string }{
		{"peers/peer0.bank3.riskmesh.test", "peer", "server"},
		{"users/User1@bank3.riskmesh.test", "client", "client"},
	} {
		node := filepath.Join(dir, id.node)
		m := filepath.Join(node, "msp")
		ca.issue(t, filepath.Base(node), id.ou, filepath.Join(m, "signcerts", filepath.Base(node)+"-cert.pem"), filepath.Join(m, "keystore", "priv_sk"))
		tlsDir := filepath.Join(node, "tls")
		tlsCA.issue(t, filepath.Base(node), id.ou, filepath.Join(tlsDir, id.tlsName+".crt"), filepath.Join(tlsDir, id.tlsName+".key"))
		if err := os.WriteFile(filepath.Join(tlsDir, "ca.crt"), tlsCA.pem, 0o644); err != nil {
			t.Fatal(err)
		}
		mspDirs = append(mspDirs, m)
	}
	for _, m := range mspDirs {
		for sub, c := range map[string]testCA{"cacerts": ca, "tlscacerts": tlsCA} {
			if err := os.MkdirAll(filepath.Join(m, sub), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(m, sub, c.cert.Subject.CommonName+"-cert.pem"), c.pem, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		config := "NodeOUs:\n  Enable: true\n  PeerOUIdentifier:\n    Certificate: cacerts/ca.bank3.riskmesh.test-cert.pem\n    OrganizationalUnitIdentifier: peer\n"
		if err := os.WriteFile(filepath.Join(m, "config.yaml"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, ca, tlsCA
}

// pemCerts parses every certificate of a PEM file.
func pemCerts(t *testing.T, file string) []*x509.Certificate {
	t.Helper()
	rest, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return out
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

// verifies reports whether the certificate in file chains to root.
func verifies(t *testing.T, file string, root *x509.Certificate) bool {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(root)
	_, err := pemCerts(t, file)[0].Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err == nil
}

func countFiles(t *testing.T, pattern string) int {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

// TestRotationFiles runs the folder side of a CA rotation on a cryptogen
// layout: new CAs, every identity re-issued under them with both CAs
// trusted, then the old CAs dropped.
func TestRotationFiles(t *testing.T) {
	dir, oldCA, oldTLS := testOrgDir(t)
	now := time.Now()
	caPEM, err := newCA(filepath.Join(dir, "ca"), filepath.Join(dir, "ca"+newSuffix), now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newCA(filepath.Join(dir, "tlsca"), filepath.Join(dir, "tlsca"+newSuffix), now); err != nil {
		t.Fatal(err)
	}
	if err := promoteCAs(dir); err != nil {
		t.Fatal(err)
	}
	newRoot := pemCerts(t, caCertFile(filepath.Join(dir, "ca")))[0]
	newTLS := pemCerts(t, caCertFile(filepath.Join(dir, "tlsca")))[0]
	if string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: newRoot.Raw})) != string(caPEM) {
		t.Fatal("newCA returned another certificate than it wrote")
	}
	if !newRoot.IsCA || newRoot.Subject.CommonName == oldCA.cert.Subject.CommonName ||
		newRoot.Subject.Organization[0] != oldCA.cert.Subject.Organization[0] || newRoot.PublicKey.(*ecdsa.PublicKey).Equal(&oldCA.key.PublicKey) {
		t.Fatalf("new CA %v: want a CA of the same organisation, another name and key", newRoot.Subject)
	}
	if baseCommonName(newRoot.Subject.CommonName) != oldCA.cert.Subject.CommonName {
		t.Fatalf("new CA's name %q does not lead back to %q", newRoot.Subject.CommonName, oldCA.cert.Subject.CommonName)
	}

	if err := reissueOrg(dir, now); err != nil {
		t.Fatal(err)
	}
	for _, id := range []struct{ node, ou, tlsName string }{
		{"peers/peer0.bank3.riskmesh.test", "peer", "server"},
		{"users/User1@bank3.riskmesh.test", "client", "client"},
	} {
		node := filepath.Join(dir, id.node)
		sign := filepath.Join(node, "msp", "signcerts", filepath.Base(node)+"-cert.pem")
		if !verifies(t, sign, newRoot) || verifies(t, sign, oldCA.cert) {
			t.Errorf("%s: signing certificate does not chain to the new CA alone", id.node)
		}
		if ou := pemCerts(t, sign)[0].Subject.OrganizationalUnit; len(ou) != 1 || ou[0] != id.ou {
			t.Errorf("%s: OU %v, want %s", id.node, ou, id.ou)
		}
		if _, err := tls.LoadX509KeyPair(sign, filepath.Join(node, "msp", "keystore", "priv_sk")); err != nil {
			t.Errorf("%s: signing key: %v", id.node, err)
		}
		tlsCert := filepath.Join(node, "tls", id.tlsName+".crt")
		if !verifies(t, tlsCert, newTLS) || verifies(t, tlsCert, oldTLS.cert) {
			t.Errorf("%s: TLS certificate does not chain to the new TLS CA alone", id.node)
		}
		if _, err := tls.LoadX509KeyPair(tlsCert, filepath.Join(node, "tls", id.tlsName+".key")); err != nil {
			t.Errorf("%s: TLS key: %v", id.node, err)
		}
		if cas := pemCerts(t, filepath.Join(node, "tls", "ca.crt")); len(cas) != 2 || !cas[0].Equal(newTLS) || !cas[1].Equal(oldTLS.cert) {
			t.Errorf("%s: ca.crt holds %d certificates, want the new TLS CA, then the old", id.node, len(cas))
		}
	}
	for _, m := range []string{"msp", "peers/peer0.bank3.riskmesh.test/msp", "users/User1@bank3.riskmesh.test/msp"} {
		m = filepath.Join(dir, m)
		if n, k := countFiles(t, filepath.Join(m, "cacerts", "*.pem")), countFiles(t, filepath.Join(m, "tlscacerts", "*.pem")); n != 2 || k != 2 {
			t.Errorf("%s trusts %d CAs and %d TLS CAs, want both of each", m, n, k)
		}
		if b, err := os.ReadFile(filepath.Join(m, "config.yaml")); err != nil || string(b) != nodeOUConfig || strings.Contains(string(b), "Certificate") {
			t.Errorf("%s/config.yaml: %q (%v): want Node OUs bound to no CA", m, b, err)
		}
	}

	newTLSPEM, err := os.ReadFile(caCertFile(filepath.Join(dir, "tlsca")))
	if err != nil {
		t.Fatal(err)
	}
	if err := trustOnly(dir, newTLSPEM); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"msp", "peers/peer0.bank3.riskmesh.test/msp", "users/User1@bank3.riskmesh.test/msp"} {
		m = filepath.Join(dir, m)
		cas := pemCerts(t, filepath.Join(m, "cacerts", filepath.Base(caCertFile(filepath.Join(dir, "ca")))))
		if countFiles(t, filepath.Join(m, "cacerts", "*.pem")) != 1 || countFiles(t, filepath.Join(m, "tlscacerts", "*.pem")) != 1 || !cas[0].Equal(newRoot) {
			t.Errorf("%s: want the new CAs alone after the retirement", m)
		}
	}
	if cas := pemCerts(t, filepath.Join(dir, "peers/peer0.bank3.riskmesh.test/tls/ca.crt")); len(cas) != 1 || !cas[0].Equal(newTLS) {
		t.Errorf("peer ca.crt holds %d certificates after the retirement, want the new TLS CA alone", len(cas))
	}
}

func TestBaseCommonName(t *testing.T) {
	for cn, want := range map[string]string{
		"ca.bank3.riskmesh.test":                    "ca.bank3.riskmesh.test",
		"ca.bank3.riskmesh.test-20261206t151000":    "ca.bank3.riskmesh.test",
		"tlsca.bank3.riskmesh.test-20270101t000000": "tlsca.bank3.riskmesh.test",
		"ca-corp.example":                           "ca-corp.example",
	} {
		if got := baseCommonName(cn); got != want {
			t.Errorf("baseCommonName(%q) = %q, want %q", cn, got, want)
		}
	}
}

// mspConfig is an organisation's MSP value with the given roots and Node
// OU rules bound to the first root.
func mspValue(t *testing.T, roots, tlsRoots [][]byte) *cb.ConfigValue {
	t.Helper()
	ou := func(name string) *mspproto.FabricOUIdentifier {
		return &mspproto.FabricOUIdentifier{Certificate: roots[0], OrganizationalUnitIdentifier: name}
	}
	fc, err := proto.Marshal(&mspproto.FabricMSPConfig{Name: "AMSP", RootCerts: roots, TlsRootCerts: tlsRoots,
		FabricNodeOus: &mspproto.FabricNodeOUs{Enable: true, ClientOuIdentifier: ou("client"), PeerOuIdentifier: ou("peer"),
			AdminOuIdentifier: ou("admin"), OrdererOuIdentifier: ou("orderer")}})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := proto.Marshal(&mspproto.MSPConfig{Config: fc})
	if err != nil {
		t.Fatal(err)
	}
	return &cb.ConfigValue{Version: 1, ModPolicy: "Admins", Value: mc}
}

// readMSP returns the MSP definition of organisation mspID in c.
func readMSP(t *testing.T, c *cb.Config, mspID string) *mspproto.FabricMSPConfig {
	t.Helper()
	var out *mspproto.FabricMSPConfig
	if err := changeMSP(proto.Clone(c).(*cb.Config), mspID, func(m *mspproto.FabricMSPConfig) { out = m }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestChangeMSP(t *testing.T) {
	orig := testConfig()
	orig.ChannelGroup.Groups["Application"].Groups["AMSP"].Values["MSP"] = mspValue(t, [][]byte{[]byte("old")}, [][]byte{[]byte("oldtls")})

	both := proto.Clone(orig).(*cb.Config)
	if err := changeMSP(both, "AMSP", trustAlso([]byte("new"), []byte("newtls"))); err != nil {
		t.Fatal(err)
	}
	m := readMSP(t, both, "AMSP")
	if len(m.RootCerts) != 2 || string(m.RootCerts[1]) != "new" || len(m.TlsRootCerts) != 2 || string(m.TlsRootCerts[1]) != "newtls" || m.Name != "AMSP" {
		t.Fatalf("MSP after trusting the new CAs: roots %q, TLS roots %q", m.RootCerts, m.TlsRootCerts)
	}
	for _, ou := range []*mspproto.FabricOUIdentifier{m.FabricNodeOus.ClientOuIdentifier, m.FabricNodeOus.PeerOuIdentifier,
		m.FabricNodeOus.AdminOuIdentifier, m.FabricNodeOus.OrdererOuIdentifier} {
		if ou.Certificate != nil || ou.OrganizationalUnitIdentifier == "" {
			t.Fatalf("Node OU rule %v: want it kept and bound to no CA", ou)
		}
	}
	u, err := computeUpdate("ch", orig, both)
	if err != nil {
		t.Fatal(err)
	}
	// Only the organisation's MSP value moves: its own Admins policy
	// decides, not the majority that guards the Application group.
	app := u.WriteSet.Groups["Application"]
	org := app.Groups["AMSP"]
	if app.Version != 2 || org.Version != 1 || len(org.Values) != 1 || org.Values["MSP"].GetVersion() != 2 {
		t.Fatalf("write set: Application v%d, AMSP v%d with %v: want the MSP value alone at v2", app.Version, org.Version, org.Values)
	}

	only := proto.Clone(both).(*cb.Config)
	if err := changeMSP(only, "AMSP", trustOnlyRoots([]byte("new"), []byte("newtls"))); err != nil {
		t.Fatal(err)
	}
	if m := readMSP(t, only, "AMSP"); len(m.RootCerts) != 1 || string(m.RootCerts[0]) != "new" || len(m.TlsRootCerts) != 1 || string(m.TlsRootCerts[0]) != "newtls" {
		t.Fatalf("MSP after retiring the old CAs: roots %q, TLS roots %q", m.RootCerts, m.TlsRootCerts)
	}

	if err := changeMSP(proto.Clone(orig).(*cb.Config), "ZMSP", trustAlso(nil, nil)); err == nil {
		t.Fatal("changeMSP of an organisation the channel does not list succeeded")
	}
	bad := proto.Clone(orig).(*cb.Config)
	bad.ChannelGroup.Groups["Application"].Groups["AMSP"].Values["MSP"].Value = []byte{0xff}
	if err := changeMSP(bad, "AMSP", trustAlso(nil, nil)); err == nil {
		t.Fatal("changeMSP of a malformed MSP value succeeded")
	}
}
