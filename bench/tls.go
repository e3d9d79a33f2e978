package bench

import (
	"crypto/tls"
	"time"

	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/node/peer"
)

// members is a fixed consortium for node/peer: certificate fingerprint to
// MSP id.
type members map[peer.Fingerprint]string

func (m members) add(msp string) (tls.Certificate, error) {
	cert, err := selfsigned.New(msp, nil, nil, time.Now())
	if err == nil {
		m[peer.FingerprintOf(cert.Certificate[0])] = msp
	}
	return cert, err
}

func (m members) Authorize(fp [32]byte) (string, error) {
	if msp, ok := m[fp]; ok {
		return msp, nil
	}
	return "", peer.ErrUnknownPeer
}
