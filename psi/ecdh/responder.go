package ecdh

import (
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"slices"
)

// Responder is the party that answers a Request. It is single use: Answer,
// then (BothLearn only) Finish; any error ends the session.
type Responder struct {
	party           // secret is b
	rand  io.Reader // draws the shuffle

	// Kept between Answer and Finish in BothLearn.
	perm     []int32           // Reply.Masked[k] is H(items[perm[k]])^b
	ours     map[matchKey]bool // keys of H(x_i)^(ab); true once matched
	peerSize int
}

// NewResponder prepares to answer one session over items (distinct,
// normalised identifiers). context must equal the requester's. rand draws
// the secret exponent and the shuffle; nil means crypto/rand. items is kept,
// not copied, until the session ends.
func NewResponder(mode Mode, context []byte, items [][]byte, rand io.Reader) (*Responder, error) {
	p, rand, err := newParty(mode, context, items, rand)
	if err != nil {
		return nil, err
	}
	return &Responder{party: p, rand: rand}, nil
}

// Answer consumes message 1 and returns message 2: the requester's points
// raised to b in their order, and the responder's items masked with b in a
// random order. In RequesterLearns this ends the session; the responder has
// learned len(req.Masked) and nothing else.
func (r *Responder) Answer(req *Request) (*Reply, error) {
	if r.step != stepNew {
		return nil, ErrOutOfOrder
	}
	r.step = stepSent
	reply, err := r.answer(req)
	if err != nil || r.mode == RequesterLearns {
		r.end()
	}
	return reply, err
}

func (r *Responder) answer(req *Request) (*Reply, error) {
	if req == nil {
		return nil, ErrMalformed
	}
	if err := r.checkPeer(req.Mode, req.Session); err != nil {
		return nil, err
	}
	if len(req.Masked) > MaxSetSize {
		return nil, ErrSetTooLarge
	}
	remasked, err := remask(r.secret, req.Masked, "Request.Masked") // H(x_i)^(ab)
	if err != nil {
		return nil, err
	}
	perm, err := shuffle(r.rand, len(r.items))
	if err != nil {
		return nil, err
	}
	masked, err := mask(r.h, r.secret, ItemSlice(r.items), perm, nil)
	if err != nil {
		return nil, err
	}
	if i, j := firstDuplicate(masked); i >= 0 {
		lo, hi := min(perm[i], perm[j]), max(perm[i], perm[j])
		return nil, fmt.Errorf("%w: items %d and %d", ErrDuplicateItem, lo, hi)
	}
	if r.mode == BothLearn {
		if r.ours, err = keySet(&r.session, remasked, "Request.Masked"); err != nil {
			return nil, err
		}
		r.perm = perm
		r.peerSize = len(req.Masked)
	}
	return &Reply{Mode: r.mode, Session: r.session, Remasked: remasked, Masked: masked}, nil
}

// Finish consumes message 3 (BothLearn only) and returns the responder's result.
func (r *Responder) Finish(ret *Return) (*Result, error) {
	if r.step != stepSent || r.mode != BothLearn {
		return nil, ErrOutOfOrder
	}
	defer r.end()
	if ret == nil {
		return nil, ErrMalformed
	}
	if err := r.checkPeer(ret.Mode, ret.Session); err != nil {
		return nil, err
	}
	if len(ret.Remasked) != len(r.perm) {
		return nil, fmt.Errorf("%w: Return.Remasked has %d, want %d", ErrCountMismatch, len(ret.Remasked), len(r.perm))
	}
	res := &Result{Matches: []int{}, PeerSize: r.peerSize}
	for k, key := range keys(&r.session, ret.Remasked) {
		matched, ok := r.ours[key]
		if !ok {
			continue
		}
		// An honest requester's values are distinct, so one point of the
		// requester's can match at most one of ours.
		if matched {
			return nil, &PointError{Field: "Return.Remasked", Index: k, Err: ErrDuplicatePoint}
		}
		r.ours[key] = true
		res.Matches = append(res.Matches, int(r.perm[k]))
	}
	slices.Sort(res.Matches)
	return res, nil
}

// end drops the secret exponent and per-session state.
func (r *Responder) end() {
	r.party.end()
	r.perm, r.ours = nil, nil
}

// shuffle returns a uniformly random permutation of [0, n). It seeds
// ChaCha8 from rand once, rather than reading rand per swap, so a large set
// costs one read of the injected source.
func shuffle(rand io.Reader, n int) ([]int32, error) {
	var seed [32]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return nil, fmt.Errorf("ecdh: read randomness: %w", err)
	}
	return permutation(&seed, n), nil
}

// permutation is the permutation of [0, n) that seed determines: a
// Fisher-Yates shuffle driven by ChaCha8, so a resumed reconciliation
// rebuilds its secret order from the 32-byte seed in its checkpoint.
func permutation(seed *[32]byte, n int) []int32 {
	rng := mathrand.New(mathrand.NewChaCha8(*seed))
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	return perm
}
