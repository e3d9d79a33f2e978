package requester

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/backoff"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/hepsi"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// bucketLive maps a live exchange, keyed as its transcript (period,
// responder, sequence), to its homomorphic step (an audit.LiveStep): the
// query's digests and this node's signature, written before the query is
// sent, then the provider's receipt once the answer arrives. A step
// without a receipt is what a live dispute files (docs/audit.md, "Live
// mode"). It holds digests only, nothing that names an identifier.
var bucketLive = []byte("requester/live")

// putLiveStep records step as the homomorphic step of the exchange h
// names.
func (s *store) putLiveStep(h *transcript.Header, step *audit.LiveStep) error {
	enc, err := step.MarshalBinary()
	if err != nil {
		return err
	}
	return s.commits.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLive).Put(transcriptKey(h.Period, h.Responder, h.Sequence), enc)
	})
}

// LiveStep returns the homomorphic step this node recorded for its live
// exchange with provider under (period, sequence): the query it signed
// and, if the answer arrived, the provider's receipt. It wraps
// ErrNoLiveStep if the exchange has none (not live, its query never
// signed, or pruned with the period's transcripts).
func (r *Requester) LiveStep(period uint64, provider string, sequence uint64) (*audit.LiveStep, error) {
	var step *audit.LiveStep
	err := r.store.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketLive).Get(transcriptKey(period, provider, sequence))
		if v == nil {
			return fmt.Errorf("%w: exchange %d of period %d with %s", ErrNoLiveStep, sequence, period, provider)
		}
		step = new(audit.LiveStep)
		return step.UnmarshalBinary(v)
	})
	return step, err
}

// heKeys holds this node's BGV key pairs for live queries: one per
// provider, category and period (and the provider's parameters, which
// change only with a rebuilt database), kept in memory only. A restart
// generates new ones; nothing binds a provider to a key across queries,
// and keeping the secret keys off disk keeps old queries undecryptable
// once the node forgets them. Keys of earlier periods are dropped when a
// later period's key is made. A key pair is generated once, outside the
// lock: whoever asks for it while it is being made, a query or the key
// preparation ahead of queries (livekeys.go), waits for the same one.
//
// uploadAfter holds, per provider, when its budget of key uploads
// (node/provider's Config.LiveKeyUploads) takes this node's next one, from a
// RATE_LIMITED refusal's hint: no upload goes to it before then, and the
// queries carry their key meanwhile.
type heKeys struct {
	mu          sync.Mutex
	period      uint64
	m           map[heKeyID]*heKey
	uploadAfter map[string]time.Time // by provider MSP id
}

// heKey is one key pair and whether its provider holds its evaluation key
// as far as this node knows: set when the provider stored the key sent
// ahead or answered a query carrying it, cleared when it refused one
// naming it by digest. Queries while it is set name the key by digest
// (1.57 MB less each).
type heKey struct {
	*hepsi.Requester
	sent atomic.Bool

	ready chan struct{} // closed once Requester or err is set
	err   error
}

type heKeyID struct {
	provider, category string
	params             [transcript.DigestSize]byte
}

// requester returns the key pair of x, generating it on first use or
// waiting for the generation under way. A failed generation is forgotten,
// so the next use tries again. hepsi.Requester is used by concurrent
// queries: its Query and Results only read the key.
func (k *heKeys) requester(x *liveSetup) (*heKey, error) {
	k.mu.Lock()
	switch {
	case x.period < k.period:
		// A query of an older period still running: a key of its own,
		// not kept.
		k.mu.Unlock()
		he, err := hepsi.NewRequester(x.params)
		return &heKey{Requester: he}, err
	case x.period > k.period || k.m == nil:
		k.period, k.m = x.period, make(map[heKeyID]*heKey)
	}
	id := heKeyID{x.inst.MSPID, x.category, x.digest}
	if he := k.m[id]; he != nil {
		k.mu.Unlock()
		<-he.ready
		return he, he.err
	}
	he := &heKey{ready: make(chan struct{})}
	k.m[id] = he
	k.mu.Unlock()
	he.Requester, he.err = hepsi.NewRequester(x.params)
	if he.err != nil {
		k.mu.Lock()
		if k.m[id] == he {
			delete(k.m, id)
		}
		k.mu.Unlock()
	}
	close(he.ready)
	return he, he.err
}

// errNotLiveAnswer is a response to a live query that is neither an answer
// nor a refusal.
var errNotLiveAnswer = errors.New("answer is not a live answer")

// resend sends msg to inst until it is answered, refused for good or ctx
// ends, always the identical signed message: a provider answers the same
// evaluate request from its replay index, and the same live query on the
// same exchange again, without billing anything more (a lost answer's
// retry). It returns the answer, the attempts made and whether some
// attempt may have reached the provider (mayHaveReached).
func (r *Requester) resend(ctx context.Context, inst *accounting.Institution, msg *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, uint32, bool, error) {
	reached := false
	for attempts := uint32(1); ; attempts++ {
		resp, err := r.cfg.Conns.Do(ctx, inst, msg)
		if err == nil {
			return resp, attempts, true, nil
		}
		reached = reached || mayHaveReached(err)
		var re *peer.RemoteError
		var wait time.Duration
		switch {
		case ctx.Err() != nil:
			return nil, attempts, reached, err
		case errors.As(err, &re):
			if !transient(re) {
				return nil, attempts, reached, err
			}
			wait = re.RetryAfter
		}
		wait = max(wait, backoff.Delay(r.cfg.RetryBackoff, r.cfg.MaxRetryBackoff, int(attempts)))
		if backoff.Sleep(ctx, wait) != nil {
			return nil, attempts, reached, err
		}
	}
}
