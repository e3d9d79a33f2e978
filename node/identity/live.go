package identity

import (
	"bytes"
	"crypto/tls"
	"sync/atomic"
)

// Live is an identity in use that a key rotation replaces without a
// restart: every signature and TLS handshake reads the identity stored at
// that moment. The zero value holds none; Store one before use.
type Live struct {
	id atomic.Pointer[Identity]
}

// NewLive returns a Live holding id.
func NewLive(id *Identity) *Live {
	l := &Live{}
	l.Store(id)
	return l
}

// Load returns the identity in use.
func (l *Live) Load() *Identity { return l.id.Load() }

// Store puts id in use.
func (l *Live) Store(id *Identity) { l.id.Store(id) }

// Sign signs a digest with the signing key in use (an ecsig.Sign).
func (l *Live) Sign(digest []byte) ([]byte, error) { return l.id.Load().Sign(digest) }

// Certificate returns the TLS certificate in use (for
// peer.Config.GetCertificate and the auditor service).
func (l *Live) Certificate() *tls.Certificate { return &l.id.Load().Certificate }

// Follow reloads the identity from ks when registered, the public keys the
// ledger's registry now holds for this institution, differ from the
// identity in use and equal the ones on disk: a process that shares an
// identity directory (and its PKCS#11 token, ks.Token) with a node picks
// up the node's rotation once the ledger has it. It reports whether it
// switched. A directory that does not hold the registered keys (yet)
// changes nothing.
func (l *Live) Follow(ks Keystore, signingKey []byte, tlsFingerprint []byte) (bool, error) {
	cur := l.Load()
	if bytes.Equal(cur.SigningKey, signingKey) && bytes.Equal(cur.Fingerprint[:], tlsFingerprint) {
		return false, nil
	}
	next, err := ks.Load()
	if err != nil {
		return false, err
	}
	if next.MSPID != cur.MSPID || !bytes.Equal(next.SigningKey, signingKey) || !bytes.Equal(next.Fingerprint[:], tlsFingerprint) {
		return false, nil
	}
	l.Store(next)
	return true, nil
}
