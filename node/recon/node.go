package recon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Node runs this institution's reconciliations: Handle answers the peer
// requests of those it is asked for, Reconcile runs one it starts.
type Node struct {
	cfg   Config
	store *store

	mu       sync.Mutex
	opened   map[sessionKey]*session // by requester, period, sequence
	byDigest map[[transcript.DigestSize]byte]*session
	runs     map[string]*tracker           // every reconciliation since start, by id
	ended    [][transcript.DigestSize]byte // the last ended sessions still in byDigest, oldest first
	settled  map[string]bool               // transcripts Rebill need not read again, by path
}

// sessionKey names a reconciliation on the responder before its header is
// signed.
type sessionKey struct {
	requester        string
	period, sequence uint64
}

// New validates cfg, creates Dir if needed and its buckets in DB.
func New(cfg Config) (*Node, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("recon: %w", err)
	}
	st, err := newStore(cfg.DB, cfg.Seal)
	if err != nil {
		return nil, err
	}
	return &Node{cfg: cfg, store: st, opened: make(map[sessionKey]*session), byDigest: make(map[[transcript.DigestSize]byte]*session),
		runs: make(map[string]*tracker), settled: make(map[string]bool)}, nil
}

// Handles reports whether req is a reconciliation request, which Handle
// answers.
func Handles(req *riskmeshv1.PeerRequest) bool {
	switch req.GetBody().(type) {
	case *riskmeshv1.PeerRequest_ReconOpen, *riskmeshv1.PeerRequest_ReconSign, *riskmeshv1.PeerRequest_ReconStep:
		return true
	}
	return false
}

// Handle answers one reconciliation request from an authenticated peer.
func (n *Node) Handle(ctx context.Context, who peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
	switch b := req.GetBody().(type) {
	case *riskmeshv1.PeerRequest_ReconOpen:
		return n.open(ctx, who.MSPID, b.ReconOpen)
	case *riskmeshv1.PeerRequest_ReconSign:
		return n.sign(ctx, who.MSPID, b.ReconSign)
	case *riskmeshv1.PeerRequest_ReconStep:
		return n.step(ctx, who.MSPID, b.ReconStep)
	}
	return refuse(codeMalformed, "not a reconciliation request")
}

// refusal maps a responder error to its PeerError. The texts name lists,
// parties, chunk positions and library errors, never an identifier.
func refusal(err error) *riskmeshv1.PeerResponse {
	code := codeInternal
	switch {
	case errors.Is(err, ErrNotAdmitted):
		code = codeNotAdmitted
	case errors.Is(err, ErrBusy):
		code = codeUnavailable
	case errors.Is(err, ErrSequence):
		code = codeReplayed
	case errors.Is(err, ErrSession), errors.Is(err, ErrUnknownList), errors.Is(err, ErrNoPrice):
		code = codeNotFound
	case errors.Is(err, transcript.ErrRequestSignature):
		code = codeBadSig
	case errors.Is(err, ErrPeerChunk), errors.Is(err, errMalformed):
		code = codeMalformed
	}
	return refuse(code, "%v", err)
}

// errMalformed marks a request that breaks the format.
var errMalformed = errors.New("recon: malformed request")
