package audit_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// reconSide is one institution in a reconciliation: its reconciler and its
// signing key.
type reconSide struct {
	r    *ecdh.Reconciler
	sign ecsig.Sign
	pub  []byte
}

// reconSession runs a reconciliation the way two nodes do: every chunk is
// encoded, recorded in the transcript with its sender's signature, and
// decoded by the receiver. bodies keeps every chunk sent, as the claimant
// keeps what it sent and received.
type reconSession struct {
	req, resp reconSide
	tr        *transcript.ReconTranscript
	hd        [transcript.DigestSize]byte
	bodies    map[[transcript.DigestSize]byte][]byte
}

func items(prefix string, n int) ecdh.ItemSlice {
	out := make(ecdh.ItemSlice, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%s-%d", prefix, i)
	}
	return out
}

// reconLists returns a requester list of n and a responder list of m
// sharing the first `shared` items.
func reconLists(n, m, shared int) (x, y ecdh.ItemSlice) {
	x, y = items("bank-a", n), items("lender-b", m)
	for i := range shared {
		y[i*m/shared] = x[i*n/shared]
	}
	return x, y
}

func newReconSession(t *testing.T, p transcript.Protocol, x, y ecdh.ItemSlice, chunk uint32) *reconSession {
	t.Helper()
	h := transcript.ReconHeader{Protocol: p, Category: "loans", Period: 20261206, Requester: "BankAMSP", Responder: "LenderBMSP", Sequence: 1}
	return newReconSessionOf(t, h, x, y, chunk, nil, nil)
}

// newReconSessionOf is newReconSession with h's protocol, category,
// period, parties and sequence, signed by the given signers (nil: fresh
// keys).
func newReconSessionOf(t *testing.T, h transcript.ReconHeader, x, y ecdh.ItemSlice, chunk uint32, reqSign, respSign *reconSide) *reconSession {
	t.Helper()
	h.Suite, h.ChunkSize = transcript.SuiteRistretto255SHA512, chunk
	h.RequesterSize, h.ResponderSize = uint32(len(x)), uint32(len(y))
	params, err := h.Params()
	if err != nil {
		t.Fatal(err)
	}
	s := &reconSession{bodies: map[[transcript.DigestSize]byte][]byte{}}
	for _, side := range []struct {
		role   ecdh.Role
		items  ecdh.ItemSlice
		dst    *reconSide
		signer *reconSide
	}{{ecdh.RoleRequester, x, &s.req, reqSign}, {ecdh.RoleResponder, y, &s.resp, respSign}} {
		r, err := ecdh.NewReconciler(side.role, params, side.items, nil)
		if err != nil {
			t.Fatal(err)
		}
		if side.signer != nil {
			*side.dst = reconSide{r: r, sign: side.signer.sign, pub: side.signer.pub}
			continue
		}
		key, pub, err := ecsig.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		*side.dst = reconSide{r: r, sign: ecsig.NewSigner(key, rand.Reader), pub: pub}
	}
	h.RequesterKey, h.ResponderKey = s.req.r.Commitment(), s.resp.r.Commitment()
	if s.hd, err = h.Digest(); err != nil {
		t.Fatal(err)
	}
	s.tr = &transcript.ReconTranscript{Header: h}
	if s.tr.RequesterSignature, err = transcript.SignRequest(s.req.sign, s.hd); err != nil {
		t.Fatal(err)
	}
	if s.tr.ResponderSignature, err = transcript.SignResponse(s.resp.sign, s.hd); err != nil {
		t.Fatal(err)
	}
	if err := s.req.r.Start(h.ResponderKey); err != nil {
		t.Fatal(err)
	}
	if err := s.resp.r.Start(h.RequesterKey); err != nil {
		t.Fatal(err)
	}
	return s
}

// send encodes c, lets a dishonest sender change it first (tamper), signs
// and records it, and returns it decoded as the receiver sees it. answered
// is the chunk c answers, nil for masked items.
func (s *reconSession) send(t *testing.T, from *reconSide, c *ecdh.Chunk, answered []byte, tamper func(*ecdh.Chunk)) (*ecdh.Chunk, []byte) {
	t.Helper()
	if tamper != nil {
		tamper(c)
	}
	body, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	rec := transcript.ChunkRecord{Kind: c.Kind, Seq: c.Seq, Count: uint32(len(c.Points)), Hash: transcript.ChunkHash(body)}
	if answered != nil {
		rec.Answers = transcript.ChunkHash(answered)
	}
	if err := transcript.SignRecord(from.sign, s.hd, &rec); err != nil {
		t.Fatal(err)
	}
	s.tr.Records = append(s.tr.Records, rec)
	s.bodies[rec.Hash] = body
	var got ecdh.Chunk
	if err := got.UnmarshalBinary(body); err != nil {
		t.Fatal(err)
	}
	return &got, body
}

// run drives the reconciliation to the end or to the honest side's first
// refusal, which it returns. tamper sees every chunk before it is signed.
func (s *reconSession) run(t *testing.T, tamper func(*ecdh.Chunk)) error {
	t.Helper()
	both := s.tr.Header.Protocol == transcript.ProtocolECDHBothLearn
	c := int(s.tr.Header.ChunkSize)
	for seq := range uint32((int(s.tr.Header.ResponderSize) + c - 1) / c) {
		own, err := s.resp.r.OwnChunk(seq)
		if err != nil {
			return err
		}
		got, body := s.send(t, &s.resp, own, nil, tamper)
		ret, _, err := s.req.r.Answer(got)
		if err != nil {
			return err
		}
		if both {
			got, _ := s.send(t, &s.req, ret, body, tamper)
			if _, err := s.resp.r.Accept(got); err != nil {
				return err
			}
		}
	}
	for seq := range uint32((int(s.tr.Header.RequesterSize) + c - 1) / c) {
		own, err := s.req.r.OwnChunk(seq)
		if err != nil {
			return err
		}
		got, body := s.send(t, &s.req, own, nil, tamper)
		reply, _, err := s.resp.r.Answer(got)
		if err != nil {
			return err
		}
		got, _ = s.send(t, &s.resp, reply, body, tamper)
		if _, err := s.req.r.Accept(got); err != nil {
			return err
		}
	}
	return nil
}

// dispute builds the claim over the i-th answer record of kind.
func (s *reconSession) dispute(t *testing.T, kind ecdh.ChunkKind, seq uint32) *audit.ReconDispute {
	t.Helper()
	for _, r := range s.tr.Records {
		if r.Kind == kind && r.Seq == seq {
			return &audit.ReconDispute{Transcript: s.tr, Answered: s.bodies[r.Answers], Answer: s.bodies[r.Hash]}
		}
	}
	t.Fatalf("no %v %d in the transcript", kind, seq)
	return nil
}

func (s *reconSession) decide(d *audit.ReconDispute) audit.Decision {
	return audit.DecideReconciliation(d, [][]byte{s.req.pub}, [][]byte{s.resp.pub})
}

func wantVerdict(t *testing.T, got audit.Decision, want accounting.Verdict, reason string) {
	t.Helper()
	if got.Verdict != want || !strings.Contains(got.Reason, reason) {
		t.Fatalf("decision %v (%s), want %v with %q", got.Verdict, got.Reason, want, reason)
	}
}

// TestAdversaryReconWrongExponentiation: a dishonest side returns a wrong
// exponentiation (one point changed, two points reordered, a reply from
// another chunk replayed under the next sequence number); the honest side
// refuses it at once and the auditor upholds its dispute from the
// transcript and the two chunks.
func TestAdversaryReconWrongExponentiation(t *testing.T) {
	x, y := reconLists(90, 70, 20)
	var replay *ecdh.Chunk
	cases := []struct {
		name     string
		protocol transcript.Protocol
		kind     ecdh.ChunkKind
		tamper   func(t *testing.T, c *ecdh.Chunk)
	}{
		{"responder changes one reply point", transcript.ProtocolECDHRequesterLearns, ecdh.KindResponderReply,
			func(t *testing.T, c *ecdh.Chunk) { c.Points[3] = otherPoint(t, c.Points[3]) }},
		{"requester changes one return point", transcript.ProtocolECDHBothLearn, ecdh.KindRequesterReturn,
			func(t *testing.T, c *ecdh.Chunk) { c.Points[0] = otherPoint(t, c.Points[0]) }},
		{"responder reorders its reply", transcript.ProtocolECDHBothLearn, ecdh.KindResponderReply,
			func(t *testing.T, c *ecdh.Chunk) { c.Points[0], c.Points[5] = c.Points[5], c.Points[0] }},
		{"responder replays its first reply as the second", transcript.ProtocolECDHBothLearn, ecdh.KindResponderReply,
			func(t *testing.T, c *ecdh.Chunk) {
				replay.Seq = c.Seq
				*c = *replay
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newReconSession(t, tc.protocol, x, y, 32)
			replay = nil
			err := s.run(t, func(c *ecdh.Chunk) {
				if c.Kind != tc.kind {
					return
				}
				if c.Seq == 0 {
					cp := *c
					cp.Points = append([]ecdh.Point(nil), c.Points...)
					replay = &cp
					return
				}
				if c.Seq == 1 {
					tc.tamper(t, c)
				}
			})
			if !errors.Is(err, ecdh.ErrProof) {
				t.Fatalf("the honest side's error = %v, want ErrProof", err)
			}
			wantVerdict(t, s.decide(s.dispute(t, tc.kind, 1)), accounting.VerdictUpheld, "not the answered chunk raised to the key")
			wantVerdict(t, s.decide(s.dispute(t, tc.kind, 0)), accounting.VerdictRejected, "the answer is correct")
		})
	}
}

// TestAdversaryReconWithheldMatches: a responder that hides the requester's
// matches by corrupting exactly the matching reply points is refused at
// once and loses the dispute; one that hides them by leaving the shared
// items out of its input (a substituted input) cannot be told from an
// honest one, and the auditor says so.
func TestAdversaryReconWithheldMatches(t *testing.T) {
	x, y := reconLists(64, 64, 16)
	t.Run("corrupted matching replies", func(t *testing.T) {
		s := newReconSession(t, transcript.ProtocolECDHBothLearn, x, y, 64)
		err := s.run(t, func(c *ecdh.Chunk) {
			if c.Kind == ecdh.KindResponderReply {
				for i := 0; i < len(c.Points); i += 4 {
					c.Points[i] = otherPoint(t, c.Points[i])
				}
			}
		})
		if !errors.Is(err, ecdh.ErrProof) {
			t.Fatalf("err = %v, want ErrProof", err)
		}
		wantVerdict(t, s.decide(s.dispute(t, ecdh.KindResponderReply, 0)), accounting.VerdictUpheld, "LenderBMSP")
	})
	t.Run("substituted input", func(t *testing.T) {
		substitute := items("lender-b-other", 64)
		s := newReconSession(t, transcript.ProtocolECDHBothLearn, x, substitute, 64)
		if err := s.run(t, nil); err != nil {
			t.Fatalf("a substituted input is a valid run, got %v", err)
		}
		if s.req.r.Matches() != 0 {
			t.Fatalf("requester matched %d items of a disjoint substitute", s.req.r.Matches())
		}
		if err := s.tr.Verify([][]byte{s.req.pub}, [][]byte{s.resp.pub}); err != nil || !s.tr.Complete() {
			t.Fatalf("transcript: %v, complete %v", err, s.tr.Complete())
		}
		wantVerdict(t, s.decide(s.dispute(t, ecdh.KindResponderReply, 0)), accounting.VerdictRejected, "choice of input")
	})
}

// TestAdversaryReconForgedEvidence plays a dishonest claimant against an
// honest accused: evidence that is not what the accused signed is rejected.
func TestAdversaryReconForgedEvidence(t *testing.T) {
	x, y := reconLists(96, 40, 10)
	s := newReconSession(t, transcript.ProtocolECDHBothLearn, x, y, 32)
	if err := s.run(t, nil); err != nil {
		t.Fatal(err)
	}
	d0, d1 := s.dispute(t, ecdh.KindResponderReply, 0), s.dispute(t, ecdh.KindResponderReply, 1)
	cases := []struct {
		name   string
		d      *audit.ReconDispute
		reason string
	}{
		{"replayed: an answer presented against the next chunk", &audit.ReconDispute{Transcript: s.tr, Answered: d1.Answered, Answer: d0.Answer}, "another chunk"},
		{"reordered answered chunk", &audit.ReconDispute{Transcript: s.tr, Answered: reorder(t, d0.Answered), Answer: d0.Answer}, "another chunk"},
		{"edited answer", &audit.ReconDispute{Transcript: s.tr, Answered: d0.Answered, Answer: edit(t, d0.Answer)}, "no answer with this hash"},
		{"honest answer", d0, "the answer is correct"},
		{"transcript signed by someone else", &audit.ReconDispute{Transcript: resigned(t, s.tr), Answered: d0.Answered, Answer: d0.Answer}, "not one both parties signed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantVerdict(t, s.decide(tc.d), accounting.VerdictRejected, tc.reason)
		})
	}
}

// TestAdversaryReconUnmaskedInjection: the injection of issue I's review
// (an unmasked H(z) among the responder's masked items) leaves every answer
// correct, so no dispute and no transcript check can show it; what limits
// it is the requester's fresh secret order (psi/ecdh's
// TestAdversaryUnmaskedInjection shows the position learned is not z's
// row). This test pins that the auditor does not wrongly blame the honest
// requester whose return carried H(z)^a.
func TestAdversaryReconUnmaskedInjection(t *testing.T) {
	x, y := reconLists(50, 50, 0)
	s := newReconSession(t, transcript.ProtocolECDHBothLearn, x, y, 25)
	err := s.run(t, func(c *ecdh.Chunk) {
		if c.Kind == ecdh.KindResponderMasked && c.Seq == 0 {
			c.Points[2] = otherPoint(t, c.Points[2]) // stands for H(z): any point the responder chose
		}
	})
	// The responder changed its own masked chunk after keeping a copy, so it
	// refuses the honest return to it: the dishonest side stops itself.
	if !errors.Is(err, ecdh.ErrProof) {
		t.Fatalf("err = %v, want ErrProof", err)
	}
	wantVerdict(t, s.decide(s.dispute(t, ecdh.KindRequesterReturn, 0)), accounting.VerdictRejected, "the answer is correct")
}

// otherPoint returns a valid point different from p: p plus the base point.
func otherPoint(t *testing.T, p ecdh.Point) ecdh.Point {
	t.Helper()
	var e ristretto255.Element
	if _, err := e.SetCanonicalBytes(p[:]); err != nil {
		t.Fatal(err)
	}
	e.Add(&e, ristretto255.NewGeneratorElement())
	var q ecdh.Point
	copy(q[:], e.Bytes())
	return q
}

func reorder(t *testing.T, body []byte) []byte {
	t.Helper()
	var c ecdh.Chunk
	if err := c.UnmarshalBinary(body); err != nil {
		t.Fatal(err)
	}
	c.Points[0], c.Points[1] = c.Points[1], c.Points[0]
	out, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func edit(t *testing.T, body []byte) []byte {
	t.Helper()
	var c ecdh.Chunk
	if err := c.UnmarshalBinary(body); err != nil {
		t.Fatal(err)
	}
	c.Points[0] = otherPoint(t, c.Points[0])
	out, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func resigned(t *testing.T, tr *transcript.ReconTranscript) *transcript.ReconTranscript {
	t.Helper()
	cp := *tr
	hd, err := cp.Header.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if cp.ResponderSignature, err = transcript.SignResponse(otherSigner(t), hd); err != nil {
		t.Fatal(err)
	}
	return &cp
}
