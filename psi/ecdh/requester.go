package ecdh

import (
	cryptorand "crypto/rand"
	"fmt"
	"io"

	"github.com/gtank/ristretto255"
)

// Requester is the party that starts a session. It is single use: Request,
// then Finish; any error ends the session, so a peer cannot retry with
// different messages to learn more.
type Requester struct {
	mode    Mode
	session SessionID
	items   [][]byte
	h       *hasher
	a       *ristretto255.Scalar // secret exponent; never leaves the Requester
	step    int
}

const (
	stepNew = iota
	stepSent
	stepDone
)

// NewRequester prepares a session over items (distinct, normalised
// identifiers). context must be the same bytes the responder uses; it should
// be unique per session. rand draws the secret exponent; nil means
// crypto/rand. items is kept, not copied, until Finish returns.
func NewRequester(mode Mode, context []byte, items [][]byte, rand io.Reader) (*Requester, error) {
	if !mode.valid() {
		return nil, ErrMode
	}
	if len(items) > MaxSetSize {
		return nil, ErrSetTooLarge
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	a, err := randomScalar(rand)
	if err != nil {
		return nil, err
	}
	sid := NewSessionID(context)
	return &Requester{mode: mode, session: sid, items: items, h: newHasher(sid), a: a}, nil
}

// Request returns message 1: every item masked as H(x_i)^a, in input order.
func (r *Requester) Request() (*Request, error) {
	if r.step != stepNew {
		return nil, ErrOutOfOrder
	}
	r.step = stepSent
	masked, err := mask(r.h, r.a, r.items, nil)
	if err != nil {
		r.end()
		return nil, err
	}
	if i, j := firstDuplicate(masked); i >= 0 {
		r.end()
		return nil, fmt.Errorf("%w: items %d and %d", ErrDuplicateItem, i, j)
	}
	return &Request{Mode: r.mode, Session: r.session, Masked: masked}, nil
}

// Finish consumes message 2 and returns the requester's result. In BothLearn
// it also returns message 3 for the responder; in RequesterLearns that is nil.
func (r *Requester) Finish(reply *Reply) (*Result, *Return, error) {
	if r.step != stepSent {
		return nil, nil, ErrOutOfOrder
	}
	defer r.end()
	switch {
	case reply == nil:
		return nil, nil, ErrMalformed
	case reply.Mode != r.mode:
		return nil, nil, ErrModeMismatch
	case reply.Session != r.session:
		return nil, nil, ErrSessionMismatch
	case len(reply.Remasked) != len(r.items):
		return nil, nil, fmt.Errorf("%w: Reply.Remasked has %d, want %d", ErrCountMismatch, len(reply.Remasked), len(r.items))
	case len(reply.Masked) > MaxSetSize:
		return nil, nil, ErrSetTooLarge
	}
	theirs, err := remask(r.a, reply.Masked, "Reply.Masked") // H(y_j)^(ba)
	if err != nil {
		return nil, nil, err
	}
	set, err := keySet(&r.session, theirs, "Reply.Masked")
	if err != nil {
		return nil, nil, err
	}
	res := &Result{Matches: []int{}, PeerSize: len(reply.Masked)}
	for i, k := range keys(&r.session, reply.Remasked) {
		if _, ok := set[k]; ok {
			res.Matches = append(res.Matches, i)
		}
	}
	var ret *Return
	if r.mode == BothLearn {
		ret = &Return{Mode: r.mode, Session: r.session, Remasked: theirs}
	}
	return res, ret, nil
}

// end drops the secret exponent and the items so the session cannot be reused.
func (r *Requester) end() {
	r.step = stepDone
	r.a.Zero()
	r.items = nil
}
