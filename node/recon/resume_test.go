package recon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Sizes of the crash tests: 400 responder rows and 250 requester rows
// (75 on both) in chunks of 64, so 7 responder chunks and 4 requester
// chunks.
const (
	crashChunk  = 64
	crashTheirs = 7
	crashOurs   = 4
)

// crashPair is the pair of the crash tests.
func crashPair(t *testing.T) *pair {
	t.Helper()
	return newPair(t, pairOptions{reqList: phones(0, 250), respList: phones(175, 575), grants: grantAll(bankA), chunk: crashChunk})
}

// crashPlanted are the rows both lists of crashPair hold.
var crashPlanted = ids(phones(175, 250))

// calls is the number of requests a requester sends in a whole
// reconciliation: open, sign, a pull per responder chunk (and a return in
// both-learn), a step per requester chunk.
func calls(p transcript.Protocol) int {
	n := 2 + crashTheirs + crashOurs
	if p == transcript.ProtocolECDHBothLearn {
		n += crashTheirs
	}
	return n
}

// recorder sends through send and keeps each request's encoding.
type recorder struct {
	mu   sync.Mutex
	sent [][]byte
	send Send
	// after, when set, is called with the request number (from 1) and the
	// answer; a non-nil error replaces the answer.
	after func(k int, resp *riskmeshv1.PeerResponse) error
}

func (r *recorder) Do(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
	enc, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.sent = append(r.sent, enc)
	k := len(r.sent)
	r.mu.Unlock()
	resp, err := r.send(ctx, req)
	if err == nil && r.after != nil {
		if aerr := r.after(k, resp); aerr != nil {
			return nil, aerr
		}
	}
	return resp, err
}

// crashAfter returns a context and a recorder over send that plays a
// requester node crashing once its kth request is answered: the answer is
// lost and the context ends, so nothing more is done.
func crashAfter(t *testing.T, k int, send Send) (context.Context, *recorder) {
	ctx, crash := context.WithCancel(t.Context())
	return ctx, &recorder{send: send, after: func(n int, _ *riskmeshv1.PeerResponse) error {
		if n == k {
			crash()
			return context.Canceled
		}
		return nil
	}}
}

// checkPlanted checks both sides' results hold the planted overlap, each
// row once, and both keep the same complete, verifying transcript.
func checkPlanted(t *testing.T, p *pair, res *Result, proto transcript.Protocol, want []string) {
	t.Helper()
	if got := readResult(t, res.ResultPath); !slices.Equal(got, want) {
		t.Fatalf("requester's result: %d rows, want the %d planted", len(got), len(want))
	}
	if res.Matches != len(want) {
		t.Fatalf("requester counts %d matches, want %d", res.Matches, len(want))
	}
	respResult, respTranscript := paths(p.respDir, res.ID)
	var wantResp []string
	if proto == transcript.ProtocolECDHBothLearn {
		wantResp = want
	}
	if got := readResult(t, respResult); !slices.Equal(got, wantResp) {
		t.Fatalf("responder's result: %d rows, want %d", len(got), len(wantResp))
	}
	reqT, respT := readTranscript(t, res.TranscriptPath), readTranscript(t, respTranscript)
	for name, tr := range map[string]*transcript.ReconTranscript{"requester": reqT, "responder": respT} {
		if err := tr.Verify([][]byte{p.members[bankA].pub}, [][]byte{p.members[bankB].pub}); err != nil {
			t.Fatalf("%s's transcript: %v", name, err)
		}
		if !tr.Complete() {
			t.Fatalf("%s's transcript is incomplete: %d records", name, len(tr.Records))
		}
	}
	a, _ := reqT.MarshalBinary()
	b, _ := respT.MarshalBinary()
	if !slices.Equal(a, b) {
		t.Fatal("the two sides keep different transcripts")
	}
}

var modes = []struct {
	name  string
	proto transcript.Protocol
}{{"RequesterLearns", transcript.ProtocolECDHRequesterLearns}, {"BothLearn", transcript.ProtocolECDHBothLearn}}

// crashPoints are the requests after whose answer a side crashes: the
// signature, inside phase 1, the last of phase 1, inside phase 2 and the
// last request.
func crashPoints(p transcript.Protocol) []int {
	last := calls(p)
	return []int{2, 4, last - crashOurs, last - 2, last}
}

// TestResumeAfterRequesterCrash stops the requester abruptly once the
// responder has answered its kth request (the answer is lost with the
// node), leaves a torn row at the end of its result file, starts the
// requester node again over the same node.db and resumes: the
// reconciliation ends with exactly the planted overlap on both sides, each
// row once, and the requester sends the lost request again, byte for byte,
// and nothing it had an answer for.
func TestResumeAfterRequesterCrash(t *testing.T) {
	for _, mode := range modes {
		for _, k := range crashPoints(mode.proto) {
			t.Run(fmt.Sprintf("%s/%d", mode.name, k), func(t *testing.T) {
				p := crashPair(t)
				ctx, before := crashAfter(t, k, p.conn.Do)
				_, err := p.req.Reconcile(ctx, before.Do, request(mode.proto, 1))
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("crashed run: %v, want context.Canceled", err)
				}
				id := ID(bankA, bankB, 7, 1)
				resultPath, _ := paths(p.reqDir, id)
				f, err := os.OpenFile(resultPath, os.O_WRONLY|os.O_APPEND, 0)
				must(t, err)
				_, err = f.WriteString(`{"id":"phone:+41000000`) // a row torn by the crash
				must(t, err)
				must(t, f.Close())

				restart(t, &p.req, &p.reqDB, &p.reqCfg)
				if st, err := p.req.Get(id); err != nil || st.GetState() != StateInterrupted {
					t.Fatalf("after the restart: %v, %v; want state %s", st, err, StateInterrupted)
				}
				after := &recorder{send: p.conn.Do}
				ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
				defer cancel()
				res, err := p.req.Resume(ctx, id, after.Do)
				must(t, err)
				checkPlanted(t, p, res, mode.proto, crashPlanted)
				if want := calls(mode.proto) - k + 1; len(after.sent) != want {
					t.Fatalf("resumed run sent %d requests, want %d (the lost one and those after it)", len(after.sent), want)
				}
				if !slices.Equal(after.sent[0], before.sent[k-1]) {
					t.Fatal("the first request after the resume is not the lost one, byte for byte")
				}
				if st, _ := p.req.Get(id); st.GetState() != StateDone {
					t.Fatalf("state %s, want %s", st.GetState(), StateDone)
				}
			})
		}
	}
}

// TestResumeAfterResponderCrash stops the responder once it has answered
// the requester's kth request (its answer is lost, the requester is told
// the responder is unavailable), starts the responder node again over the
// same node.db, and resumes the requester: the reconciliation ends with
// exactly the planted overlap, and the restarted responder answers the
// lost request with the very answer it gave before the crash (its
// signatures are randomised, so the same bytes mean it was not answered
// twice).
func TestResumeAfterResponderCrash(t *testing.T) {
	for _, mode := range modes {
		// After the last request too: a responder that answered it has
		// finished and forgotten the state, but keeps that answer.
		for _, k := range crashPoints(mode.proto) {
			t.Run(fmt.Sprintf("%s/%d", mode.name, k), func(t *testing.T) {
				p := crashPair(t)
				var lost []byte
				before := &recorder{send: p.conn.Do, after: func(n int, resp *riskmeshv1.PeerResponse) error {
					if n < k {
						return nil
					}
					if n == k {
						lost, _ = proto.MarshalOptions{Deterministic: true}.Marshal(resp)
					}
					return &peer.RemoteError{Code: codeUnavailable, Message: "restarting"}
				}}
				_, err := p.req.Reconcile(t.Context(), before.Do, request(mode.proto, 1))
				if !resumable(err) {
					t.Fatalf("run against the crashed responder: %v, want it interrupted", err)
				}
				id := ID(bankA, bankB, 7, 1)
				if st, _ := p.req.Get(id); st.GetState() != StateInterrupted {
					t.Fatalf("requester state %s, want %s", st.GetState(), StateInterrupted)
				}

				p.restartResponder(t)
				var again []byte
				after := &recorder{send: p.conn.Do, after: func(n int, resp *riskmeshv1.PeerResponse) error {
					if n == 1 {
						again, _ = proto.MarshalOptions{Deterministic: true}.Marshal(resp)
					}
					return nil
				}}
				res, err := p.req.Resume(t.Context(), id, after.Do)
				must(t, err)
				checkPlanted(t, p, res, mode.proto, crashPlanted)
				if !slices.Equal(again, lost) {
					t.Fatal("the restarted responder answered the lost request differently")
				}
				if want := calls(mode.proto) - k + 1; len(after.sent) != want {
					t.Fatalf("resumed run sent %d requests, want %d", len(after.sent), want)
				}
				if st, err := p.resp.Get(id); err != nil || st.GetState() != StateDone {
					t.Fatalf("responder state %v, %v; want %s", st, err, StateDone)
				}
			})
		}
	}
}

// TestAdversaryResumeDifferentChunk plays a requester that crashes (or
// pretends to) after sending its requester chunk s, then "resumes" with a
// different chunk s: the same secret over other items, with a valid
// record signature. The responder, live or restarted from node.db, must
// refuse it rather than answer position s twice with different content,
// and must not write a row for it.
func TestAdversaryResumeDifferentChunk(t *testing.T) {
	for _, restartResponder := range []bool{false, true} {
		t.Run(fmt.Sprintf("restarted=%v", restartResponder), func(t *testing.T) {
			p := crashPair(t)
			k := calls(transcript.ProtocolECDHBothLearn) - 2 // requester chunk 1 of 0..3
			ctx, before := crashAfter(t, k, p.conn.Do)
			if _, err := p.req.Reconcile(ctx, before.Do, request(transcript.ProtocolECDHBothLearn, 1)); !errors.Is(err, context.Canceled) {
				t.Fatalf("crashed run: %v", err)
			}
			id := ID(bankA, bankB, 7, 1)
			respResult, _ := paths(p.respDir, id)
			rowsBefore := len(readResult(t, respResult))
			if restartResponder {
				p.restartResponder(t)
			}

			// The dishonest requester's second version of its chunk.
			l, err := p.req.store.load(id)
			must(t, err)
			other := new(rows)
			for _, e := range phones(5000, 5250) {
				must(t, other.add(e))
			}
			forged, err := ecdh.Resume(l.checkpoint, other, l.log, nil)
			must(t, err)
			pending := new(riskmeshv1.PeerRequest)
			must(t, proto.Unmarshal(l.pending, pending))
			seq := uint32(k - 2 - 2*crashTheirs - 1)
			c, err := forged.OwnChunk(seq)
			must(t, err)
			enc, err := c.MarshalBinary()
			must(t, err)
			if slices.Equal(enc, pending.GetReconStep().GetChunk()) {
				t.Fatal("the forged chunk equals the one sent")
			}
			rec := transcript.ChunkRecord{Kind: c.Kind, Seq: c.Seq, Count: uint32(len(c.Points)), Hash: transcript.ChunkHash(enc)}
			digest, err := l.header.Header.Digest()
			must(t, err)
			must(t, transcript.SignRecord(p.members[bankA].sign, digest, &rec))
			_, err = p.conn.Do(t.Context(), &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_ReconStep{ReconStep: &riskmeshv1.ReconStep{
				HeaderDigest: digest[:], Chunk: enc, Signature: rec.Signature}}})
			var re *peer.RemoteError
			if !errors.As(err, &re) || re.Code != codeMalformed {
				t.Fatalf("second version of chunk %d: %v, want a MALFORMED refusal", seq, err)
			}
			if got := len(readResult(t, respResult)); got != rowsBefore {
				t.Fatalf("the responder's result went from %d to %d rows", rowsBefore, got)
			}
		})
	}
}

// TestResumeSealed runs the requester with node.db sealing on: the saved
// state of a crashed reconciliation (its secret above all) is not in
// node.db in plain, and the node started again with the same keyring
// resumes from it.
func TestResumeSealed(t *testing.T) {
	ring, err := seal.Create(filepath.Join(t.TempDir(), seal.KeyringFile), seal.PassphraseKEK("sandbox"), nil)
	must(t, err)
	p := crashPair(t)
	p.reqCfg.Seal = ring
	p.req, err = New(p.reqCfg)
	must(t, err)
	k := calls(transcript.ProtocolECDHBothLearn) - 2
	ctx, before := crashAfter(t, k, p.conn.Do)
	if _, err := p.req.Reconcile(ctx, before.Do, request(transcript.ProtocolECDHBothLearn, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("crashed run: %v", err)
	}
	id := ID(bankA, bankB, 7, 1)
	must(t, p.reqDB.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketState).Get([]byte(id))
		if _, err := decodeSaved(raw); err == nil {
			t.Error("the saved state is in node.db in plain")
		}
		opened, err := ring.OpenValue(bucketState, []byte(id), raw)
		if err != nil {
			return err
		}
		_, err = decodeSaved(opened)
		return err
	}))
	restart(t, &p.req, &p.reqDB, &p.reqCfg)
	res, err := p.req.Resume(t.Context(), id, p.conn.Do)
	must(t, err)
	checkPlanted(t, p, res, transcript.ProtocolECDHBothLearn, crashPlanted)
}
