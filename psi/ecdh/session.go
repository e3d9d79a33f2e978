package ecdh

import (
	"crypto/sha256"
	"fmt"
)

// Mode says who learns the intersection.
type Mode uint8

const (
	// RequesterLearns: the requester learns which of its items the responder
	// holds; the responder learns only the requester's set size. Two messages.
	RequesterLearns Mode = 1
	// BothLearn: both learn which of their own items are in the intersection.
	// Three messages.
	BothLearn Mode = 2
)

func (m Mode) String() string {
	switch m {
	case RequesterLearns:
		return "requester-learns"
	case BothLearn:
		return "both-learn"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

func (m Mode) valid() bool { return m == RequesterLearns || m == BothLearn }

// labelSession separates the session-id hash from every other SHA-256 use.
const labelSession = "riskmesh/v1/ecdh-psi/session"

// SessionID is the SHA-256 digest of the session context both parties agree
// on before they start (for example the transcript header: protocol,
// category, period, requester, responder, sequence number). It goes into the
// hash-to-group DST, into the match keys and into every message.
type SessionID [32]byte

// NewSessionID derives the session id from the context bytes.
func NewSessionID(context []byte) SessionID {
	h := sha256.New()
	h.Write([]byte(labelSession))
	h.Write(context)
	var sid SessionID
	h.Sum(sid[:0])
	return sid
}
