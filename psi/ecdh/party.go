package ecdh

import (
	cryptorand "crypto/rand"
	"io"

	"github.com/gtank/ristretto255"
)

// party is what both sides of a session hold: the mode, the session id that
// domain-separates every hash to the group, the party's own items and its
// secret exponent (a for the requester, b for the responder in the
// protocol's notation), which never leaves the party.
type party struct {
	mode    Mode
	session SessionID
	items   [][]byte
	h       *hasher
	secret  *ristretto255.Scalar
	step    int
}

// newParty validates the session parameters and draws the secret exponent
// from rand (crypto/rand if nil), which it returns for the caller's other
// randomness.
func newParty(mode Mode, context []byte, items [][]byte, rand io.Reader) (party, io.Reader, error) {
	if !mode.valid() {
		return party{}, nil, ErrMode
	}
	if len(items) > MaxSetSize {
		return party{}, nil, ErrSetTooLarge
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	secret, err := randomScalar(rand)
	if err != nil {
		return party{}, nil, err
	}
	sid := NewSessionID(context)
	return party{mode: mode, session: sid, items: items, h: newHasher(sid), secret: secret}, rand, nil
}

// checkPeer rejects a message of another mode or session.
func (p *party) checkPeer(mode Mode, session SessionID) error {
	switch {
	case mode != p.mode:
		return ErrModeMismatch
	case session != p.session:
		return ErrSessionMismatch
	}
	return nil
}

// end closes the session: the secret is wiped and the items released.
func (p *party) end() {
	p.step = stepDone
	p.secret.Zero()
	p.items = nil
}
