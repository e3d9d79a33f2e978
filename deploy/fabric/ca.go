package fabric

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	cb "github.com/hyperledger/fabric-protos-go-apiv2/common"
	mspproto "github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// An organisation's group on the channel carries its MSP: the root CAs
// that issue its identities (root_certs), the roots of its TLS
// certificates (tls_root_certs) and the Node OU rules that tell its
// admins, peers and clients apart. The MSP value's modification policy is
// the organisation's own Admins, so the organisation changes it alone.
// Rotating its CA is two such updates with the re-issue in between, so
// that every certificate stays trusted at every moment (docs/operations.md,
// "Rotating an organisation's CA"):
//
//	RotateCA: new CAs beside the old ones on the channel, every identity
//	          re-issued under the new ones, the peer restarted;
//	RetireCA: the old CAs off the channel; certificates they issued are
//	          refused from that block on.
//
// On disk, an organisation's current CAs are the cryptogen folders ca/ and
// tlsca/; the ones being retired wait in ca.retired/ and tlsca.retired/.

// The CA folders of a peer organisation (cryptogen layout) and the suffixes
// of the folders that hold a CA on its way in and on its way out.
const (
	signingCADir = "ca"
	tlsCADir     = "tlsca"
	newSuffix    = ".new"
	retSuffix    = ".retired"
)

// nodeOUConfig is the Node OU part of every MSP folder's config.yaml
// after a rotation: the OUs name no CA certificate, so that they apply to
// identities of either CA while both are trusted.
const nodeOUConfig = `NodeOUs:
  Enable: true
  ClientOUIdentifier:
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    OrganizationalUnitIdentifier: orderer
`

// RotateCA gives organisation mspID a new root CA and a new TLS root CA:
// a configuration update, signed by the organisation's own admin, adds
// them to its MSP beside the current ones (both trusted); then the peer's,
// the admin's and the client's certificates are re-issued under the new
// CAs with new keys, every MSP folder of the organisation trusts both, and
// the peer restarts with its new certificates. RetireCA completes the
// rotation. The organisation's ordering organisation, if it runs an
// orderer, has CAs of its own, which this does not change.
func (n *Network) RotateCA(ctx context.Context, mspID string) error {
	return n.onOrg(ctx, mspID, func(ctx context.Context, info Info, org Org, dir string) error {
		for _, kind := range []string{signingCADir, tlsCADir} {
			if _, err := os.Stat(filepath.Join(dir, kind+retSuffix)); err == nil {
				return fmt.Errorf("%w: %s: a rotation is under way, retire the old CA first", ErrConfig, mspID)
			}
		}
		now := time.Now()
		var roots [2][]byte
		for i, kind := range []string{signingCADir, tlsCADir} {
			next := filepath.Join(dir, kind+newSuffix)
			if err := os.RemoveAll(next); err != nil {
				return err
			}
			var err error
			if roots[i], err = newCA(filepath.Join(dir, kind), next, now); err != nil {
				return fmt.Errorf("new %s of %s: %w", kind, mspID, err)
			}
		}
		number, err := n.submitUpdate(ctx, []peerAdmin{n.admin(org)}, func(c *cb.Config) error {
			return changeMSP(c, mspID, trustAlso(roots[0], roots[1]))
		})
		if err != nil {
			return errors.Join(fmt.Errorf("trust the new CAs of %s: %w", mspID, err),
				os.RemoveAll(filepath.Join(dir, signingCADir+newSuffix)), os.RemoveAll(filepath.Join(dir, tlsCADir+newSuffix)))
		}
		// The other members' peers accept the new certificates once they
		// have the update.
		if err := n.waitHeight(ctx, info.Orgs, number+1); err != nil {
			return err
		}
		if err := promoteCAs(dir); err != nil {
			return err
		}
		if err := reissueOrg(dir, now); err != nil {
			return fmt.Errorf("re-issue the certificates of %s: %w", mspID, err)
		}
		return n.restartPeer(ctx, org)
	})
}

// RetireCA removes from organisation mspID's MSP on the channel every root
// CA and TLS root CA but its current ones (those RotateCA installed), with
// an update signed by its own admin, drops the old CAs from its folders
// and restarts its peer. From the update's block on, the channel refuses
// every certificate the old CAs issued.
func (n *Network) RetireCA(ctx context.Context, mspID string) error {
	return n.onOrg(ctx, mspID, func(ctx context.Context, info Info, org Org, dir string) error {
		var roots [2][]byte
		for i, kind := range []string{signingCADir, tlsCADir} {
			if _, err := os.Stat(filepath.Join(dir, kind+retSuffix)); err != nil {
				return fmt.Errorf("%w: %s: no rotation under way, nothing to retire (RotateCA first)", ErrConfig, mspID)
			}
			var err error
			if roots[i], err = os.ReadFile(caCertFile(filepath.Join(dir, kind))); err != nil {
				return err
			}
		}
		number, err := n.submitUpdate(ctx, []peerAdmin{n.admin(org)}, func(c *cb.Config) error {
			return changeMSP(c, mspID, trustOnlyRoots(roots[0], roots[1]))
		})
		if err != nil {
			return fmt.Errorf("retire the old CAs of %s: %w", mspID, err)
		}
		if err := n.waitHeight(ctx, info.Orgs, number+1); err != nil {
			return err
		}
		if err := trustOnly(dir, roots[1]); err != nil {
			return err
		}
		for _, kind := range []string{signingCADir, tlsCADir} {
			if err := os.RemoveAll(filepath.Join(dir, kind+retSuffix)); err != nil {
				return err
			}
		}
		return n.restartPeer(ctx, org)
	})
}

// changeMSP rewrites organisation mspID's MSP definition in configuration c.
func changeMSP(c *cb.Config, mspID string, change func(*mspproto.FabricMSPConfig)) error {
	app, err := applicationGroup(c)
	if err != nil {
		return err
	}
	v := app.GetGroups()[mspID].GetValues()["MSP"]
	if v == nil {
		return fmt.Errorf("%w: no MSP for %s", ErrBadConfigBlock, mspID)
	}
	mc := &mspproto.MSPConfig{}
	if err := proto.Unmarshal(v.Value, mc); err != nil {
		return fmt.Errorf("%w: MSP of %s: %v", ErrBadConfigBlock, mspID, err)
	}
	fc := &mspproto.FabricMSPConfig{}
	if err := proto.Unmarshal(mc.Config, fc); err != nil {
		return fmt.Errorf("%w: MSP of %s: %v", ErrBadConfigBlock, mspID, err)
	}
	change(fc)
	det := proto.MarshalOptions{Deterministic: true}
	if mc.Config, err = det.Marshal(fc); err != nil {
		return err
	}
	v.Value, err = det.Marshal(mc)
	return err
}

// trustAlso adds a root CA and a TLS root CA to an MSP and unbinds its Node
// OU rules: the first update of a rotation.
func trustAlso(root, tlsRoot []byte) func(*mspproto.FabricMSPConfig) {
	return func(m *mspproto.FabricMSPConfig) {
		m.RootCerts = append(m.RootCerts, root)
		m.TlsRootCerts = append(m.TlsRootCerts, tlsRoot)
		unbindNodeOUs(m.FabricNodeOus)
	}
}

// trustOnlyRoots leaves an MSP one root CA and one TLS root CA: the second
// update of a rotation.
func trustOnlyRoots(root, tlsRoot []byte) func(*mspproto.FabricMSPConfig) {
	return func(m *mspproto.FabricMSPConfig) {
		m.RootCerts, m.TlsRootCerts = [][]byte{root}, [][]byte{tlsRoot}
	}
}

// unbindNodeOUs removes the CA certificate from each Node OU rule: a rule
// that names a CA applies only to identities that CA issued.
func unbindNodeOUs(ous *mspproto.FabricNodeOUs) {
	for _, id := range []*mspproto.FabricOUIdentifier{ous.GetClientOuIdentifier(), ous.GetPeerOuIdentifier(),
		ous.GetAdminOuIdentifier(), ous.GetOrdererOuIdentifier()} {
		if id != nil {
			id.Certificate = nil
		}
	}
}

// newCA writes to dir a new self-signed CA (certificate and key, cryptogen
// layout) that takes over from the CA in oldDir: the same subject but for
// a dated common name, which tells the two apart, and the same validity
// length. It returns the certificate's PEM.
func newCA(oldDir, dir string, now time.Time) ([]byte, error) {
	old, err := readCert(caCertFile(oldDir))
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	subject := old.Subject
	subject.CommonName = fmt.Sprintf("%s-%s", baseCommonName(old.Subject.CommonName), now.UTC().Format("20060102t150405"))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             now.Add(-renewBackdate),
		NotAfter:              now.Add(-renewBackdate).Add(old.NotAfter.Sub(old.NotBefore)),
		KeyUsage:              old.KeyUsage,
		ExtKeyUsage:           old.ExtKeyUsage,
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := replaceFile(filepath.Join(dir, "priv_sk"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return certPEM, replaceFile(filepath.Join(dir, subject.CommonName+"-cert.pem"), certPEM, 0o644)
}

// promoteCAs makes the CAs waiting in the .new folders of the peer
// organisation in dir its current ones, and the current ones retiring.
func promoteCAs(dir string) error {
	for _, kind := range []string{signingCADir, tlsCADir} {
		if err := os.Rename(filepath.Join(dir, kind), filepath.Join(dir, kind+retSuffix)); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(dir, kind+newSuffix), filepath.Join(dir, kind)); err != nil {
			return err
		}
	}
	return nil
}

// baseCommonName strips the date an earlier rotation appended.
func baseCommonName(cn string) string {
	if i := strings.LastIndexByte(cn, '-'); i > 0 && strings.HasPrefix(cn[i+1:], "20") {
		return cn[:i]
	}
	return cn
}

// caCertFile is the certificate of the CA in a cryptogen CA folder (the one
// *-cert.pem beside priv_sk), or a name that does not exist.
func caCertFile(dir string) string {
	matches, _ := filepath.Glob(filepath.Join(dir, "*-cert.pem"))
	if len(matches) != 1 {
		return filepath.Join(dir, "missing-cert.pem")
	}
	return matches[0]
}

// reissueOrg re-issues, under the CAs now in dir's ca/ and tlsca/ folders,
// every identity of the peer organisation in dir (cryptogen layout): in
// each MSP folder the signing certificate (if any), beside which the new
// CAs join the trusted ones and the Node OU rules are unbound; in each TLS
// folder the node's or user's TLS certificate, and the TLS CA file lists
// the new TLS CA before the retiring one.
func reissueOrg(dir string, now time.Time) error {
	caFile, tlsFile := caCertFile(filepath.Join(dir, signingCADir)), caCertFile(filepath.Join(dir, tlsCADir))
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	tlsCA, err := os.ReadFile(tlsFile)
	if err != nil {
		return err
	}
	mspDirs, tlsDirs, err := identityDirs(dir)
	if err != nil {
		return err
	}
	for _, m := range mspDirs {
		for _, f := range []struct {
			sub, name string
			pem       []byte
		}{
			{"cacerts", filepath.Base(caFile), ca}, {"tlscacerts", filepath.Base(tlsFile), tlsCA},
		} {
			if err := replaceFile(filepath.Join(m, f.sub, f.name), f.pem, 0o644); err != nil {
				return err
			}
		}
		if err := replaceFile(filepath.Join(m, "config.yaml"), []byte(nodeOUConfig), 0o644); err != nil {
			return err
		}
		cert, err := userCertFile(m)
		if errors.Is(err, os.ErrNotExist) {
			continue // the organisation's public MSP folder signs nothing
		}
		if err != nil {
			return err
		}
		key, err := userKeyFile(m)
		if err != nil {
			return err
		}
		if err := reissue(filepath.Join(dir, signingCADir), cert, key, now); err != nil {
			return err
		}
	}
	for _, t := range tlsDirs {
		cert, key := filepath.Join(t, "server.crt"), filepath.Join(t, "server.key")
		if _, err := os.Stat(cert); errors.Is(err, os.ErrNotExist) {
			cert, key = filepath.Join(t, "client.crt"), filepath.Join(t, "client.key")
		}
		if err := reissue(filepath.Join(dir, tlsCADir), cert, key, now); err != nil {
			return err
		}
		old, err := os.ReadFile(filepath.Join(t, "ca.crt"))
		if err != nil {
			return err
		}
		if err := replaceFile(filepath.Join(t, "ca.crt"), append(bytes.Clone(tlsCA), old...), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// trustOnly removes from every MSP folder of the peer organisation in dir
// the CA certificates but the current ones, and makes tlsCA the only TLS
// CA of every TLS folder.
func trustOnly(dir string, tlsCA []byte) error {
	keep := map[string]bool{
		filepath.Base(caCertFile(filepath.Join(dir, signingCADir))): true,
		filepath.Base(caCertFile(filepath.Join(dir, tlsCADir))):     true,
	}
	mspDirs, tlsDirs, err := identityDirs(dir)
	if err != nil {
		return err
	}
	for _, m := range mspDirs {
		for _, sub := range []string{"cacerts", "tlscacerts"} {
			files, err := filepath.Glob(filepath.Join(m, sub, "*.pem"))
			if err != nil {
				return err
			}
			for _, f := range files {
				if !keep[filepath.Base(f)] {
					if err := os.Remove(f); err != nil {
						return err
					}
				}
			}
		}
	}
	for _, t := range tlsDirs {
		if err := replaceFile(filepath.Join(t, "ca.crt"), tlsCA, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// identityDirs lists the MSP folders (the organisation's public one, its
// peers' and its users') and the TLS folders of the peer organisation in
// dir.
func identityDirs(dir string) (mspDirs, tlsDirs []string, err error) {
	mspDirs = []string{filepath.Join(dir, "msp")}
	for _, pattern := range []string{"peers/*", "users/*"} {
		nodes, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, nil, err
		}
		for _, node := range nodes {
			mspDirs = append(mspDirs, filepath.Join(node, "msp"))
			tlsDirs = append(tlsDirs, filepath.Join(node, "tls"))
		}
	}
	return mspDirs, tlsDirs, nil
}
