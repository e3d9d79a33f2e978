package fabric

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// renewBackdate starts a re-issued certificate's validity a little in the
// past, so that a clock slightly behind the issuer's accepts it at once.
const renewBackdate = 5 * time.Minute

// RenewPeerCertificates re-issues the signing (enrollment) and TLS
// certificates of organisation mspID's peer under the organisation's own
// CAs, with new keys, a fresh validity of the old length and the same names
// and roles, and restarts the peer with them (docs/operations.md, "Renewing
// an organisation's certificates"). The channel trusts the organisation's
// CAs, not its certificates, so no configuration update is needed, and the
// other peers and the clients accept the new certificates at once. It
// returns when the peer has caught up and every gateway endorses again.
func (n *Network) RenewPeerCertificates(ctx context.Context, mspID string) error {
	return n.onOrg(ctx, mspID, func(ctx context.Context, _ Info, org Org, orgDir string) error {
		node := n.layout.peerNodeDir(org.Name)
		signCert, err := userCertFile(filepath.Join(node, "msp"))
		if err != nil {
			return err
		}
		signKey, err := userKeyFile(filepath.Join(node, "msp"))
		if err != nil {
			return err
		}
		now := time.Now()
		if err := reissue(filepath.Join(orgDir, signingCADir), signCert, signKey, now); err != nil {
			return fmt.Errorf("renew the signing certificate of %s's peer: %w", mspID, err)
		}
		tls := filepath.Join(node, "tls")
		if err := reissue(filepath.Join(orgDir, tlsCADir), filepath.Join(tls, "server.crt"), filepath.Join(tls, "server.key"), now); err != nil {
			return fmt.Errorf("renew the TLS certificate of %s's peer: %w", mspID, err)
		}
		return n.restartPeer(ctx, org)
	})
}

// onOrg runs op, an operation on peer organisation mspID, within
// Config.StartTimeout, with the network as the operation starts and the
// organisation's cryptogen folder.
func (n *Network) onOrg(ctx context.Context, mspID string, op func(ctx context.Context, info Info, org Org, dir string) error) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.StartTimeout)
	defer cancel()
	info := n.Info()
	org, err := info.Org(mspID)
	if err != nil {
		return err
	}
	return op(ctx, info, org, n.layout.peerOrgDir(org.Name))
}

// restartPeer restarts org's peer, which reads its certificates at start,
// and waits until it has caught up with another member's peer and every
// gateway endorses again.
func (n *Network) restartPeer(ctx context.Context, org Org) error {
	if err := n.stopNamed("peer-" + org.Name); err != nil {
		return err
	}
	p, err := n.startPeer(org)
	if err != nil {
		return err
	}
	if err := waitFor(ctx, "peer health of "+org.MSPID, p, httpReady(org.OperationsURL+"/healthz")); err != nil {
		return err
	}
	info := n.Info()
	var target uint64
	for _, o := range info.Orgs {
		if o.MSPID != org.MSPID {
			if target, err = n.admin(o).height(ctx); err != nil {
				return err
			}
			break
		}
	}
	if err := n.waitHeight(ctx, []Org{org}, target); err != nil {
		return err
	}
	return n.gatewaysReady(ctx, info.Orgs, nil)
}

// reissue replaces the certificate in certFile and its key in keyFile with
// a new key and a certificate for it, signed by the CA in caDir (cryptogen
// layout: <name>-cert.pem and priv_sk), that keeps the old certificate's
// subject, names, usages and validity length.
func reissue(caDir, certFile, keyFile string, now time.Time) error {
	matches, err := filepath.Glob(filepath.Join(caDir, "*-cert.pem"))
	if err != nil || len(matches) != 1 {
		return fmt.Errorf("%w: no single CA certificate in %s", ErrConfig, caDir)
	}
	caCert, err := readCert(matches[0])
	if err != nil {
		return err
	}
	caKey, err := readKey(filepath.Join(caDir, "priv_sk"))
	if err != nil {
		return err
	}
	old, err := readCert(certFile)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return err
	}
	// Fabric's MSP checks a certificate's chain at the certificate's own
	// start (plus a second), so it must not start before its CA does:
	// cryptogen starts a CA five minutes back from the minute rounded, so
	// a certificate re-issued within minutes of the network's creation
	// could otherwise, and the peer would refuse its own identity.
	notBefore := now.Add(-renewBackdate)
	if notBefore.Before(caCert.NotBefore) {
		notBefore = caCert.NotBefore
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               old.Subject,
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(old.NotAfter.Sub(old.NotBefore)),
		KeyUsage:              old.KeyUsage,
		ExtKeyUsage:           old.ExtKeyUsage,
		BasicConstraintsValid: true,
		DNSNames:              old.DNSNames,
		IPAddresses:           old.IPAddresses,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	// Key first: a crash between the two writes leaves a key the old
	// certificate does not match, which the node refuses at start instead
	// of running with a mix.
	if err := replaceFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return replaceFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func readCert(file string) (*x509.Certificate, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w: no certificate in %s", ErrConfig, file)
	}
	return x509.ParseCertificate(block.Bytes)
}

func readKey(file string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%w: no key in %s", ErrConfig, file)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, file, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not an ECDSA key", ErrConfig, file)
	}
	return key, nil
}

// replaceFile writes b to a temporary file beside file and renames it over
// file, so that a reader sees the old content or the new, never a part.
func replaceFile(file string, b []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), ".renew-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}
