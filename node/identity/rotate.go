package identity

import (
	"crypto/ecdsa"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/riskmesh/riskmesh/psi/oprf"
)

// A key pair lives in two files (private key, public key or certificate)
// that cannot be replaced by one rename. A rotation therefore writes both
// new files beside the old ones with pendingSuffix, renames the public file
// first (the commit point) and the private one second. Load finishes or
// discards an interrupted rotation (recoverPair): a pending private key
// that matches the public file in place is renamed in, anything else
// pending is removed. Rotations of one directory must not run concurrently.
const pendingSuffix = ".new"

// RotateSigningKey replaces the transcript-signing key and returns the new
// public key, PKIX DER. Transcripts signed with the old key stay verifiable
// against the ledger's record of it; the node registers the new key before
// signing with it. The key is a file; see Keystore.RotateSigningKey.
func RotateSigningKey(dir string, rand io.Reader) ([]byte, error) {
	return Keystore{Dir: dir}.RotateSigningKey(rand)
}

// RotateSigningKey is the package's RotateSigningKey with the new key made
// where k.Place says. A replaced key in the token stays there, usable by
// an Identity loaded before, until DiscardRetired.
func (k Keystore) RotateSigningKey(rand io.Reader) ([]byte, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	dir := k.Dir
	if err := recoverPairs(dir); err != nil {
		return nil, err
	}
	if _, err := readPrivate(dir, SigningKeyFile); err != nil {
		return nil, fmt.Errorf("identity: rotate signing key: %w", err)
	}
	cur, err := readPublic(dir)
	if err != nil {
		return nil, fmt.Errorf("identity: rotate signing key: %w", err)
	}
	keyPEM, pub, err := k.newSigningKey(cur.tls.Leaf.Subject.CommonName, rand)
	if err != nil {
		return nil, err
	}
	if err := replacePair(dir, pendingFile{SigningKeyFile, keyPEM, privateMode}, pendingFile{SigningPubFile, encodePEM(pemPublicKey, pub), publicMode}); err != nil {
		return nil, fmt.Errorf("identity: rotate signing key: %w", err)
	}
	return pub, nil
}

// RotateTLSCertificate replaces the TLS key and certificate with a new
// self-signed pair for the same MSP id and host names, and returns the new
// certificate, DER. Its fingerprint differs: peers admit the node with it
// once the registry lists it. The key is a file; see
// Keystore.RotateTLSCertificate.
func RotateTLSCertificate(dir string, rand io.Reader) ([]byte, error) {
	return Keystore{Dir: dir}.RotateTLSCertificate(rand)
}

// RotateTLSCertificate is the package's RotateTLSCertificate with the new
// key made where k.Place says; a replaced key in the token stays there
// until DiscardRetired.
func (k Keystore) RotateTLSCertificate(rand io.Reader) ([]byte, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	dir := k.Dir
	if err := recoverPairs(dir); err != nil {
		return nil, err
	}
	pub, err := readPublic(dir)
	if err != nil {
		return nil, fmt.Errorf("identity: rotate TLS certificate: %w", err)
	}
	old := pub.tls.Leaf
	var hosts []string
	for _, n := range old.DNSNames {
		if n != "localhost" {
			hosts = append(hosts, n)
		}
	}
	for _, ip := range old.IPAddresses {
		if !ip.Equal(net.IPv4(127, 0, 0, 1)) && !ip.Equal(net.IPv6loopback) {
			hosts = append(hosts, ip.String())
		}
	}
	der, certPEM, keyPEM, err := k.newTLSCertificate(old.Subject.CommonName, hosts, rand)
	if err != nil {
		return nil, err
	}
	if err := replacePair(dir, pendingFile{TLSKeyFile, keyPEM, privateMode}, pendingFile{TLSCertFile, certPEM, publicMode}); err != nil {
		return nil, fmt.Errorf("identity: rotate TLS certificate: %w", err)
	}
	return der, nil
}

// pendingFile is one file of a pair that changes together.
type pendingFile struct {
	name string
	data []byte
	mode os.FileMode
}

// replacePair changes two files with one commit point: it writes both
// beside the files in place (pendingSuffix), renames commit in (the commit
// point), then last. A crash leaves a prefix of these steps, which the
// files alone tell apart: recoverPair for a key pair (last is the private
// key, commit its public file), recoverOPRFKeys for an OPRF rotation (last
// is the previous key, commit the new one).
func replacePair(dir string, last, commit pendingFile) error {
	if err := writeFile(dir, last.name+pendingSuffix, last.data, last.mode); err != nil {
		return err
	}
	if err := writeFile(dir, commit.name+pendingSuffix, commit.data, commit.mode); err != nil {
		os.Remove(filepath.Join(dir, last.name+pendingSuffix))
		return err
	}
	for _, f := range []pendingFile{commit, last} {
		if err := os.Rename(filepath.Join(dir, f.name+pendingSuffix), filepath.Join(dir, f.name)); err != nil {
			return err
		}
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// recoverPairs finishes or discards interrupted rotations of both pairs.
func recoverPairs(dir string) error {
	if err := recoverPair(dir, SigningKeyFile, SigningPubFile, func() (*ecdsa.PublicKey, error) {
		p, err := readPublic(dir)
		return p.signingKey, err
	}); err != nil {
		return err
	}
	return recoverPair(dir, TLSKeyFile, TLSCertFile, func() (*ecdsa.PublicKey, error) {
		p, err := readPublic(dir)
		if err != nil {
			return nil, err
		}
		return p.tls.Leaf.PublicKey.(*ecdsa.PublicKey), nil
	})
}

// recoverPair renames a pending private key in when the public file in
// place is its public half (the rotation passed its commit point), and
// removes pending files otherwise.
func recoverPair(dir, privName, pubName string, public func() (*ecdsa.PublicKey, error)) error {
	pending := filepath.Join(dir, privName+pendingSuffix)
	defer os.Remove(filepath.Join(dir, pubName+pendingSuffix))
	data, err := readFile(dir, privName+pendingSuffix, true)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("identity: interrupted rotation: %w", err)
	}
	key, err := parsePrivateFile(data)
	if err != nil {
		// Cannot happen for a file written by replacePair; a stray file
		// is not ours to judge, so it is left for the operator.
		return fmt.Errorf("identity: interrupted rotation: %s: %w", pending, err)
	}
	pub, err := public()
	if err != nil {
		return err
	}
	if !pub.Equal(key.public()) {
		if err := os.Remove(pending); err != nil {
			return fmt.Errorf("identity: discard interrupted rotation: %w", err)
		}
		return nil
	}
	if err := os.Rename(pending, filepath.Join(dir, privName)); err != nil {
		return fmt.Errorf("identity: finish interrupted rotation: %w", err)
	}
	return syncDir(dir)
}

// RotateOPRFKey replaces the OPRF key of a category the institution already
// provides, keeps the replaced key as the category's previous key
// (PreviousOPRFKeyFile, Identity.PreviousOPRFKeys) and returns the new
// public half. The node registers the new key and builds the catalogs of
// periods it has not built yet under it; the catalogs already published
// keep being answered under the previous key, which the ledger's catalog
// records name (node/provider).
//
// Only one previous key per category is kept: a catalog is answered for
// its period and the next period's grace window, so one rotation per
// category per period is enough. A second rotation before the first one's
// old key stops backing a catalog requesters can still query drops that
// key, and a node restarted afterwards cannot answer that catalog's
// period; node/provider's Provider.CheckRotate says when a rotation is
// safe. Rotations of one directory must not run concurrently.
//
// The rotation is crash-safe: the current and previous files change with
// one commit point, and Load finishes or discards a rotation a crash
// interrupted (see recoverOPRFKeys).
func RotateOPRFKey(dir, category string, rand io.Reader) (*oprf.PublicKey, error) {
	return Keystore{Dir: dir}.RotateOPRFKey(category, rand)
}

// RotateOPRFKey is the package's RotateOPRFKey with the new key made where
// k.Place says (wrapped by the token's key, or a plain file).
func (k Keystore) RotateOPRFKey(category string, rand io.Reader) (*oprf.PublicKey, error) {
	rand, err := oprfKeyArgs(category, rand)
	if err != nil {
		return nil, err
	}
	dir := k.Dir
	if err := k.recoverOPRFKeys(); err != nil {
		return nil, err
	}
	current, err := readFile(dir, OPRFKeyFile(category), true)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoOPRFKey, category)
	}
	if err != nil {
		return nil, fmt.Errorf("identity: rotate OPRF key for %s: %w", category, err)
	}
	if _, _, err := k.readOPRFKey(category, oprfKeySuffix); err != nil {
		return nil, fmt.Errorf("identity: rotate OPRF key for %s: %w", category, err)
	}
	msp, err := k.wrapMSPID()
	if err != nil {
		return nil, err
	}
	key, next, err := k.newOPRFKey(msp, category, rand)
	if err != nil {
		return nil, err
	}
	if err := replaceOPRFKey(dir, category, current, next); err != nil {
		return nil, fmt.Errorf("identity: rotate OPRF key for %s: %w", category, err)
	}
	return key.Public(), nil
}

// An OPRF rotation changes two files, the current key and the previous
// one, in four steps:
//
//  1. write oprf-<c>.key.previous.new, a copy of the current key;
//  2. write oprf-<c>.key.new, the new key;
//  3. rename oprf-<c>.key.new over oprf-<c>.key (the commit point);
//  4. rename oprf-<c>.key.previous.new over oprf-<c>.key.previous.
//
// Each write is atomic (writeFile), so a crash leaves a prefix of the
// steps, which recoverOPRFKeys tells apart by the files alone: a pending
// new key means step 3 did not happen; a pending previous key alone is
// either the current key (step 3 did not happen) or not (it did).
func replaceOPRFKey(dir, category string, current, next []byte) error {
	return replacePair(dir, pendingFile{PreviousOPRFKeyFile(category), current, privateMode},
		pendingFile{OPRFKeyFile(category), next, privateMode})
}

// recoverOPRFKeys finishes or discards the OPRF rotations a crash
// interrupted, for every category (see replaceOPRFKey).
func (k Keystore) recoverOPRFKeys() error {
	dir := k.Dir
	uncommitted, err := oprfFiles(dir, oprfKeySuffix+pendingSuffix)
	if err != nil {
		return fmt.Errorf("identity: interrupted OPRF rotation: %w", err)
	}
	for _, c := range uncommitted {
		for _, name := range []string{OPRFKeyFile(c) + pendingSuffix, PreviousOPRFKeyFile(c) + pendingSuffix} {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("identity: discard interrupted OPRF rotation: %w", err)
			}
		}
	}
	pending, err := oprfFiles(dir, oprfKeySuffix+previousSuffix+pendingSuffix)
	if err != nil {
		return fmt.Errorf("identity: interrupted OPRF rotation: %w", err)
	}
	for _, c := range pending {
		name := PreviousOPRFKeyFile(c) + pendingSuffix
		// Neither file can be malformed if replaceOPRFKey wrote them; one
		// that is was put there by someone else, and is left for the
		// operator.
		prev, _, err := k.readOPRFKey(c, oprfKeySuffix+previousSuffix+pendingSuffix)
		if err != nil {
			return fmt.Errorf("identity: interrupted OPRF rotation: %w", err)
		}
		cur, _, err := k.readOPRFKey(c, oprfKeySuffix)
		if err != nil {
			return fmt.Errorf("identity: interrupted OPRF rotation: %w", err)
		}
		if cur.Public().Equal(prev.Public()) {
			err = os.Remove(filepath.Join(dir, name))
		} else {
			err = os.Rename(filepath.Join(dir, name), filepath.Join(dir, PreviousOPRFKeyFile(c)))
		}
		if err != nil {
			return fmt.Errorf("identity: finish interrupted OPRF rotation: %w", err)
		}
	}
	if len(uncommitted)+len(pending) == 0 {
		return nil
	}
	return syncDir(dir)
}
