package provider

import (
	"bytes"
	"crypto/rand"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// countingRand is the provider's proof randomness, counting what is drawn.
type countingRand struct{ n atomic.Int64 }

func (r *countingRand) Read(p []byte) (int, error) {
	r.n.Add(int64(len(p)))
	return rand.Read(p)
}

// A requester sends a full batch whose last element is not a group element,
// over QUIC. The provider refuses it naming that element before it
// evaluates any: BlindEvaluate decodes the whole batch first and draws its
// proof randomness only then, before the first scalar multiplication, and
// none is drawn. Nothing is journalled or billed, and the requester's next
// honest batch is answered (and does draw randomness: the witness works).
func TestAdversaryBadLastElementRefusedBeforeEvaluating(t *testing.T) {
	const full = 64
	rng := new(countingRand)
	f := newFixture(t, func(c *Config) { c.MaxBatch = full; c.Rand = rng })
	via := f.serveQUIC(t, f.p)
	phones := make([]string, full)
	for i := range phones {
		phones[i] = phone
	}
	for _, tc := range []struct {
		name string
		last []byte
	}{
		{"non-canonical", bytes.Repeat([]byte{0xff}, 32)},
		{"identity", make([]byte, 32)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := f.newQuery(1, 0, phones...)
			blinded := bytes.Clone(q.req.GetEvaluate().GetBlinded())
			copy(blinded[len(blinded)-32:], tc.last)
			resp := via(f.sign(q.header, blinded))
			wantCode(t, resp, codeMalformed)
			if idx := resp.GetError().ElementIndex; idx == nil || *idx != full-1 {
				t.Fatalf("element_index = %v, want %d", idx, full-1)
			}
			if n := rng.n.Load(); n != 0 {
				t.Fatalf("the provider drew %d bytes of proof randomness: it evaluated before refusing", n)
			}
			if d := f.p.OutboxDepth(); d != 0 {
				t.Fatalf("a refused batch journalled %d entries", d)
			}
		})
	}
	if via(f.newQuery(1, 0, phones...).req).GetEvaluate() == nil {
		t.Fatal("the honest batch after the refusals was not answered")
	}
	if n := rng.n.Load(); n == 0 {
		t.Fatal("an answered batch drew no proof randomness: the witness above proves nothing")
	}
	if d := f.p.OutboxDepth(); d != 1 {
		t.Fatalf("outbox depth %d after one answered batch, want 1", d)
	}
}

// A requester (or an old node) asks for an answer under RFC 9497's proof
// rule, whose batch proofs a provider could forge. The provider refuses:
// every answer it gives is proved under a batch-binding rule the header
// records, and nothing is journalled.
func TestAdversaryRFCRuleRequestRefused(t *testing.T) {
	f := newFixture(t, nil)
	via := f.serveQUIC(t, f.p)
	q := f.newQuery(1, 0, phone, phone)
	q.header.ProofRule = transcript.ProofRFC9497
	wantCode(t, via(f.sign(q.header, q.req.GetEvaluate().GetBlinded())), codeMalformed)
	if d := f.p.OutboxDepth(); d != 0 {
		t.Fatalf("a refused request journalled %d entries", d)
	}
}

// A requester not yet upgraded asks under the full-width binding rule
// (header version 2), an upgraded one under ProofBinding128 (version 3).
// The provider answers each under the rule its signed header names, over
// QUIC: the proof verifies under that rule, as an auditor checks it, and
// not under the other, so neither requester could be handed a proof it
// does not check.
func TestProviderAnswersTheBindingRuleAsked(t *testing.T) {
	f := newFixture(t, nil)
	via := f.serveQUIC(t, f.p)
	rules := []transcript.ProofRule{transcript.ProofBinding128, transcript.ProofBinding}
	for k, rule := range rules {
		t.Run(rule.String(), func(t *testing.T) {
			q := f.newQuery(1, 0, phone, phone)
			q.header.ProofRule = rule
			blinded := q.req.GetEvaluate().GetBlinded()
			ev := via(f.sign(q.header, blinded)).GetEvaluate()
			if ev == nil {
				t.Fatalf("a %v request was not answered", rule)
			}
			if err := catalogpsi.VerifyProof(q.header, f.key.Public(), blinded, ev.GetEvaluated(), ev.GetProof()); err != nil {
				t.Fatalf("the answer does not verify under the %v rule asked for: %v", rule, err)
			}
			other := *q.header
			other.ProofRule = rules[1-k]
			if err := catalogpsi.VerifyProof(&other, f.key.Public(), blinded, ev.GetEvaluated(), ev.GetProof()); !errors.Is(err, oprf.ErrProofVerification) {
				t.Fatalf("the answer to a %v request under %v: %v, want ErrProofVerification", rule, other.ProofRule, err)
			}
		})
	}
	if d := f.p.OutboxDepth(); d != len(rules) {
		t.Fatalf("outbox depth %d, want %d answered exchanges", d, len(rules))
	}
}
