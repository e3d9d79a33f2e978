package recon

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// marked gives every row of m the reference ref, so that a peer label in a
// result file shows whose list it came from.
func marked(m memList, ref string) memList {
	out := make(memList, len(m))
	for i, e := range m {
		e.Label.Reference = [8]byte([]byte(ref + "........")[:8])
		out[i] = e
	}
	return out
}

func refHex(ref string) string { return hex.EncodeToString([]byte(ref + "........")[:8]) }

// readLines returns a result file's lines by identifier.
func readLines(t *testing.T, path string) map[string]resultLine {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	out := map[string]resultLine{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l resultLine
		must(t, json.Unmarshal(sc.Bytes(), &l))
		out[l.ID] = l
	}
	must(t, sc.Err())
	return out
}

func shareGrant(share bool) []Grant {
	g := grantAll(bankA)
	g[0].ShareLabels = share
	return g
}

// TestLabels runs reconciliations over real QUIC with and without each
// side's consent to share labels: only when the requester asks and the
// responder's grant shares them does each side's result row carry the
// other's label of that row, and both transcripts then hold the label
// chunks, signed by their senders; otherwise no label moves and the state
// says why.
func TestLabels(t *testing.T) {
	for _, tc := range []struct {
		name        string
		share, ask  bool
		respOverlap int // first responder row; the lists overlap from it to 300
		want        string
	}{
		{"BothAgree", true, true, 150, LabelsShared},
		{"GrantDoesNotShare", false, true, 150, LabelsDeclined},
		{"NotAsked", true, false, 150, ""},
		{"NoMatchToShare", true, true, 300, LabelsShared},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, pairOptions{reqList: marked(phones(0, 300), "A"), respList: marked(phones(tc.respOverlap, 520), "B"),
				grants: shareGrant(tc.share), chunk: 32})
			req := request(transcript.ProtocolECDHBothLearn, 1)
			req.ShareLabels = tc.ask
			res, err := p.req.Reconcile(t.Context(), p.conn.Do, req)
			must(t, err)
			id := res.ID
			overlap := 300 - tc.respOverlap
			exchanged := tc.want == LabelsShared && overlap > 0
			for _, side := range []struct {
				n          *Node
				dir, other string
			}{{p.req, p.reqDir, "B"}, {p.resp, p.respDir, "A"}} {
				st, err := side.n.Get(id)
				must(t, err)
				if st.GetLabels() != tc.want || st.GetState() != StateDone {
					t.Fatalf("%s: state %q, labels %q, want done, %q", st.GetRole(), st.GetState(), st.GetLabels(), tc.want)
				}
				resultPath, tp := paths(side.dir, id)
				lines := readLines(t, resultPath)
				if len(lines) != overlap {
					t.Fatalf("%s: %d rows, want %d", st.GetRole(), len(lines), overlap)
				}
				for _, l := range lines {
					switch {
					case exchanged && (l.PeerLabel == nil || l.PeerLabel.Reference != refHex(side.other) || l.PeerLabel.Reason != l.Reason):
						t.Fatalf("%s: row %s has peer label %+v, want the other side's", st.GetRole(), l.ID, l.PeerLabel)
					case !exchanged && l.PeerLabel != nil:
						t.Fatalf("%s: row %s has a peer label without consent", st.GetRole(), l.ID)
					}
				}
				tr := readTranscript(t, tp)
				must(t, tr.Verify(p.members.pubs(bankA), p.members.pubs(bankB)))
				if !tr.Complete() {
					t.Fatalf("%s: transcript incomplete", st.GetRole())
				}
				if got := labelRecords(tr); (got > 0) != exchanged {
					t.Fatalf("%s: %d label records, exchanged %v", st.GetRole(), got, exchanged)
				}
			}
			if !exchanged {
				return
			}
			var rows []*riskmeshv1.ReconciledRow
			must(t, p.req.Rows(t.Context(), id, func(b *riskmeshv1.ReconciledRows) error {
				rows = append(rows, b.GetRows()...)
				return nil
			}))
			if len(rows) != overlap || rows[0].GetPeerLabel().GetReference() != refHex("B") {
				t.Fatalf("Rows: %d rows, first peer label %v", len(rows), rows[0].GetPeerLabel())
			}
		})
	}
	t.Run("RequesterLearnsRefused", func(t *testing.T) {
		p := newPair(t, pairOptions{reqList: phones(0, 10), respList: phones(5, 20), grants: shareGrant(true)})
		req := request(transcript.ProtocolECDHRequesterLearns, 1)
		req.ShareLabels = true
		if _, err := p.req.Reconcile(t.Context(), p.conn.Do, req); !errors.Is(err, ErrRequest) {
			t.Fatalf("err = %v, want ErrRequest", err)
		}
	})
}

func (c consortium) pubs(msp string) [][]byte { return [][]byte{c[msp].pub} }

func labelRecords(tr *transcript.ReconTranscript) int {
	n := 0
	for _, r := range tr.Records {
		if r.Kind == ecdh.KindRequesterLabels || r.Kind == ecdh.KindResponderLabels {
			n++
		}
	}
	return n
}

// resignLabels encodes c and signs its record with sign, as a dishonest
// side signs whatever it sends with its own valid key.
func resignLabels(t *testing.T, sign ecsig.Sign, digest []byte, answers [transcript.DigestSize]byte, c *ecdh.LabelChunk) (enc, sig []byte) {
	t.Helper()
	enc, err := c.MarshalBinary()
	must(t, err)
	r := transcript.ChunkRecord{Kind: c.Kind, Seq: c.Seq, Count: uint32(len(c.Entries)), Hash: transcript.ChunkHash(enc), Answers: answers}
	must(t, transcript.SignRecord(sign, [transcript.DigestSize]byte(digest), &r))
	return enc, r.Signature
}

// TestAdversaryResponderLabels plays a responder that agreed to share
// labels and then edits what it sends: a label for a row that did not
// match, more labels than matches, an edit it does not sign again, and an
// earlier label chunk replayed. The requester refuses each with
// ErrPeerChunk, keeps no peer label in its result, and reports the label
// exchange failed.
func TestAdversaryResponderLabels(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *ecdh.LabelChunk) (resign bool)
		want error
	}{
		{"LabelOfUnmatchedRow", func(c *ecdh.LabelChunk) bool {
			c.Entries[len(c.Entries)-1].Key = ecdh.LabelKey{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
			return true
		}, ecdh.ErrLabelKey},
		{"MoreLabelsThanMatches", func(c *ecdh.LabelChunk) bool {
			c.Total++
			return true
		}, ecdh.ErrLabelCount},
		{"UnsignedEdit", func(c *ecdh.LabelChunk) bool {
			c.Entries[0].Label[1] ^= 1
			return false
		}, transcript.ErrRecordSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var responder atomic.Pointer[member]
			tamper := func(h peer.Handler) peer.Handler {
				return func(ctx context.Context, who peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
					resp := h(ctx, who, req)
					st, out := req.GetReconStep(), resp.GetReconStepped()
					if len(st.GetLabels()) == 0 || len(out.GetLabels()) == 0 {
						return resp
					}
					c := new(ecdh.LabelChunk)
					must(t, c.UnmarshalBinary(out.GetLabels()))
					resign := tc.edit(c)
					enc, sig := resignLabels(t, responder.Load().sign, st.GetHeaderDigest(), transcript.ChunkHash(st.GetLabels()), c)
					if !resign {
						sig = out.GetSignature()
					}
					return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_ReconStepped{ReconStepped: &riskmeshv1.ReconStepped{Labels: enc, Signature: sig}}}
				}
			}
			p := newPair(t, pairOptions{reqList: phones(0, 200), respList: phones(100, 300), grants: shareGrant(true), chunk: 32, wrap: tamper})
			responder.Store(p.members[bankB])
			req := request(transcript.ProtocolECDHBothLearn, 1)
			req.ShareLabels = true
			_, err := p.req.Reconcile(t.Context(), p.conn.Do, req)
			if !errors.Is(err, ErrPeerChunk) || !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want ErrPeerChunk wrapping %v", err, tc.want)
			}
			checkNoPeerLabels(t, p, ID(bankA, bankB, 7, 1))
		})
	}
	t.Run("ReplayedLabelChunk", func(t *testing.T) {
		// The responder answers the requester's second label chunk with its
		// first, as it sent and signed it: the record is out of place.
		var first atomic.Pointer[riskmeshv1.PeerResponse]
		replay := func(h peer.Handler) peer.Handler {
			return func(ctx context.Context, who peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
				resp := h(ctx, who, req)
				if len(resp.GetReconStepped().GetLabels()) == 0 {
					return resp
				}
				if first.CompareAndSwap(nil, resp) {
					return resp
				}
				return first.Load()
			}
		}
		p := newPair(t, pairOptions{reqList: phones(0, 200), respList: phones(100, 300), grants: shareGrant(true), chunk: 32, wrap: replay})
		req := request(transcript.ProtocolECDHBothLearn, 1)
		req.ShareLabels = true
		if _, err := p.req.Reconcile(t.Context(), p.conn.Do, req); !errors.Is(err, ErrPeerChunk) {
			t.Fatalf("got %v, want ErrPeerChunk", err)
		}
		checkNoPeerLabels(t, p, ID(bankA, bankB, 7, 1))
	})
}

// checkNoPeerLabels checks the requester's result of reconciliation id
// carries no peer label and its state says the exchange failed.
func checkNoPeerLabels(t *testing.T, p *pair, id string) {
	t.Helper()
	resultPath, _ := paths(p.reqDir, id)
	for _, l := range readLines(t, resultPath) {
		if l.PeerLabel != nil {
			t.Fatalf("row %s kept a peer label from a refused exchange", l.ID)
		}
	}
	st, err := p.req.Get(id)
	must(t, err)
	if st.GetLabels() != LabelsFailed {
		t.Fatalf("labels %q, want %q", st.GetLabels(), LabelsFailed)
	}
}

// TestAdversaryRequesterLabels plays a requester that sends labels the
// responder must refuse: a label for a row that did not match (signed with
// its own key), and labels the responder never agreed to share. The
// responder refuses each, keeps no peer label and sends none of its own; a
// reconciliation whose matching was done is billed all the same.
func TestAdversaryRequesterLabels(t *testing.T) {
	for _, tc := range []struct {
		name   string
		share  bool
		code   riskmeshv1.ErrorCode
		reason string
		billed bool
	}{
		{"LabelOfUnmatchedRow", true, riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, ecdh.ErrLabelKey.Error(), true},
		{"NotAgreed", false, riskmeshv1.ErrorCode_ERROR_CODE_NOT_ADMITTED, "labels were not agreed", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var bills atomic.Int32
			p := newPair(t, pairOptions{reqList: phones(0, 200), respList: phones(100, 300), grants: shareGrant(tc.share), chunk: 32,
				tune: func(c *Config) {
					c.Bill = func(context.Context, *transcript.ReconTranscript) error { bills.Add(1); return nil }
				}})
			requester := p.members[bankA]
			var forged atomic.Bool
			send := func(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
				st := req.GetReconStep()
				switch {
				case len(st.GetLabels()) > 0:
					// The honest labels, one key replaced by one of no match.
					c := new(ecdh.LabelChunk)
					must(t, c.UnmarshalBinary(st.GetLabels()))
					c.Entries[len(c.Entries)-1].Key = ecdh.LabelKey{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
					enc, sig := resignLabels(t, requester.sign, st.GetHeaderDigest(), [transcript.DigestSize]byte{}, c)
					req = &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_ReconStep{ReconStep: &riskmeshv1.ReconStep{
						HeaderDigest: st.GetHeaderDigest(), Labels: enc, Signature: sig}}}
				case !tc.share && len(st.GetChunk()) > 0 && !forged.Load():
					// Labels sent without consent, in place of the first
					// chunk it sends (a return of phase 1).
					c := &ecdh.LabelChunk{Kind: ecdh.KindRequesterLabels, Mode: ecdh.BothLearn, Seq: 0, Total: 1,
						Entries: []ecdh.LabelEntry{{Key: ecdh.LabelKey{1}}}}
					enc, sig := resignLabels(t, requester.sign, st.GetHeaderDigest(), [transcript.DigestSize]byte{}, c)
					forged.Store(true)
					req = &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_ReconStep{ReconStep: &riskmeshv1.ReconStep{
						HeaderDigest: st.GetHeaderDigest(), Labels: enc, Signature: sig}}}
				}
				return p.conn.Do(ctx, req)
			}
			req := request(transcript.ProtocolECDHBothLearn, 1)
			req.ShareLabels = true
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			_, err := p.req.Reconcile(ctx, send, req)
			var re *peer.RemoteError
			if !errors.As(err, &re) || re.Code != tc.code || !strings.Contains(re.Message, tc.reason) {
				t.Fatalf("got %v, want a %v refusal saying %q", err, tc.code, tc.reason)
			}
			id := ID(bankA, bankB, 7, 1)
			resultPath, tp := paths(p.respDir, id)
			for _, l := range readLines(t, resultPath) {
				if l.PeerLabel != nil {
					t.Fatalf("the responder kept a peer label for row %s", l.ID)
				}
			}
			for _, r := range readTranscript(t, tp).Records {
				if r.Kind == ecdh.KindResponderLabels {
					t.Fatal("the responder sent labels after a refused label chunk")
				}
			}
			if got := bills.Load() == 1; got != tc.billed {
				t.Fatalf("billed %d times, want billed %v", bills.Load(), tc.billed)
			}
		})
	}
}
