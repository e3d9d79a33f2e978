package recon

import (
	"context"
	"sync"
	"testing"

	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/internal/xmd"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// hashToGroup is H(item) of a session, as docs/protocol/ecdh.md defines it:
// hash_to_ristretto255 with DST = label || session id. A dishonest side
// computes it from the header like an honest one.
func hashToGroup(t *testing.T, sid ecdh.SessionID, item []byte) ecdh.Point {
	t.Helper()
	dst := append([]byte("riskmesh/v1/ecdh-psi/ristretto255_XMD:SHA-512_R255MAP_RO_/"), sid[:]...)
	var u [xmd.Size]byte
	xmd.New(dst).Expand(&u, item)
	var e ristretto255.Element
	if _, err := e.SetUniformBytes(u[:]); err != nil {
		t.Fatal(err)
	}
	var p ecdh.Point
	copy(p[:], e.Bytes())
	return p
}

// TestAdversaryUnmaskedProbe plays the review's finding against the node: a
// responder in both-learn slips an unmasked H(z), for z one of the
// requester's rows, into its first masked chunk (signed with its own key),
// gets H(z)^a back in the requester's return, and looks for it among the
// requester's masked items. It finds it, which is the membership a probe
// can always buy with one declared slot, but at a stream position drawn
// from the requester's fresh secret order: over three sessions the
// positions are not all z's row, and they differ.
func TestAdversaryUnmaskedProbe(t *testing.T) {
	const zRow = 5
	reqList := phones(0, 600)
	z := reqList[zRow].ID.AppendTo(nil)
	// The handler runs on the server's goroutines, which the race detector
	// does not see ordered by the loopback socket: mu guards what it shares.
	var (
		mu    sync.Mutex
		p     *pair
		sid   ecdh.SessionID
		probe ecdh.Point // H(z)^a, from the return
		found = map[uint64]int{}
		seq   uint64
	)
	const chunk = 1024 // one chunk a side: the responder sees every masked item at once
	probing := func(h peer.Handler) peer.Handler {
		return func(ctx context.Context, who peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
			mu.Lock()
			defer mu.Unlock()
			st := req.GetReconStep()
			if st == nil {
				resp := h(ctx, who, req)
				if hdr := resp.GetReconOpened().GetHeader(); hdr != nil {
					parsed, err := transcript.ParseReconHeader(hdr)
					must(t, err)
					sc, err := parsed.SessionContext()
					must(t, err)
					sid, seq = ecdh.NewSessionID(sc), parsed.Sequence
				}
				return resp
			}
			if len(st.GetChunk()) == 0 { // a pull: probe in chunk 0
				resp := h(ctx, who, req)
				out := resp.GetReconStepped()
				if st.GetSeq() != 0 || out == nil {
					return resp
				}
				c := new(ecdh.Chunk)
				must(t, c.UnmarshalBinary(out.GetChunk()))
				c.Points[0] = hashToGroup(t, sid, z)
				enc, sig := resign(t, p.members[bankB].sign, st.GetHeaderDigest(), [transcript.DigestSize]byte{}, c)
				return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_ReconStepped{ReconStepped: &riskmeshv1.ReconStepped{Chunk: enc, Signature: sig}}}
			}
			c := new(ecdh.Chunk)
			must(t, c.UnmarshalBinary(st.GetChunk()))
			switch c.Kind {
			case ecdh.KindRequesterReturn: // keep H(z)^a, answer as if accepted
				if c.Seq == 0 {
					probe = c.Points[0]
				}
				return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_ReconStepped{ReconStepped: &riskmeshv1.ReconStepped{}}}
			case ecdh.KindRequesterMasked:
				for i, pt := range c.Points {
					if pt == probe {
						found[seq] = int(c.Seq)*chunk + i
					}
				}
				return refuse(codeMalformed, "probe done")
			}
			return h(ctx, who, req)
		}
	}
	pp := newPair(t, pairOptions{reqList: reqList, respList: phones(1000, 1600), grants: grantAll(bankA), chunk: chunk, wrap: probing})
	mu.Lock()
	p = pp
	mu.Unlock()
	for s := uint64(1); s <= 3; s++ {
		if _, err := pp.reconcile(t, transcript.ProtocolECDHBothLearn, s); err == nil {
			t.Fatal("the probing responder's reconciliation succeeded") // it ends each one after looking
		}
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("probe found z (row %d) at stream positions %v", zRow, found)
	if len(found) != 3 {
		t.Fatalf("the probe found H(z)^a in %d of 3 sessions: the test does not play the attack", len(found))
	}
	atRow, distinct := 0, map[int]bool{}
	for _, pos := range found {
		distinct[pos] = true
		if pos == zRow {
			atRow++
		}
	}
	if atRow == len(found) || len(distinct) < 2 {
		t.Fatalf("positions %v: the stream order reveals the row", found)
	}
}
