package ecdh

import (
	"fmt"
	"io"
)

// Requester is the party that starts a session. It is single use: Request,
// then Finish; any error ends the session, so a peer cannot retry with
// different messages to learn more.
type Requester struct {
	party // secret is a
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
	p, _, err := newParty(mode, context, items, rand)
	if err != nil {
		return nil, err
	}
	return &Requester{party: p}, nil
}

// Request returns message 1: every item masked as H(x_i)^a, in input order.
func (r *Requester) Request() (*Request, error) {
	if r.step != stepNew {
		return nil, ErrOutOfOrder
	}
	r.step = stepSent
	masked, err := mask(r.h, r.secret, ItemSlice(r.items), nil, nil)
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
	if reply == nil {
		return nil, nil, ErrMalformed
	}
	if err := r.checkPeer(reply.Mode, reply.Session); err != nil {
		return nil, nil, err
	}
	switch {
	case len(reply.Remasked) != len(r.items):
		return nil, nil, fmt.Errorf("%w: Reply.Remasked has %d, want %d", ErrCountMismatch, len(reply.Remasked), len(r.items))
	case len(reply.Masked) > MaxSetSize:
		return nil, nil, ErrSetTooLarge
	}
	theirs, err := remask(r.secret, reply.Masked, "Reply.Masked") // H(y_j)^(ba)
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
