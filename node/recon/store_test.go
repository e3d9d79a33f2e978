package recon

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// FuzzDecodeSaved feeds arbitrary bytes to the saved-state decoder: it
// must never panic, and whatever it accepts must encode back to exactly
// the bytes it read (one encoding per state).
func FuzzDecodeSaved(f *testing.F) {
	h := transcript.ReconHeader{Protocol: transcript.ProtocolECDHBothLearn, Suite: transcript.SuiteRistretto255SHA512,
		Category: "loans", Period: 7, Requester: bankA, Responder: bankB, Sequence: 1, RequesterSize: 10, ResponderSize: 20, ChunkSize: 4}
	h.ResponderKey[0], h.RequesterKey[0] = 1, 2
	for _, s := range []*saved{
		{role: ecdh.RoleRequester, peer: bankB, list: "mine", peerList: "loans", protocol: transcript.ProtocolECDHRequesterLearns},
		{role: ecdh.RoleResponder, peer: bankA, list: "loans", protocol: transcript.ProtocolECDHBothLearn, period: 7, sequence: 1,
			header:     &transcript.ReconTranscript{Header: h, RequesterSignature: []byte{1, 2}, ResponderSignature: []byte{3}},
			checkpoint: []byte{1, 2, 3}, resultSize: 100, resultRows: 2, records: 3, logs: 1, last: []byte{9, 9}},
	} {
		enc, err := encodeSaved(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeSaved(data)
		if err != nil {
			return
		}
		again, err := encodeSaved(s)
		if err != nil {
			t.Fatalf("a decoded state does not encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("state re-encodes to other bytes:\n%x\n%x", data, again)
		}
	})
}

// TestListSurvivesRestart runs a reconciliation to its end, starts both
// nodes again over their node.db and checks List and Get still show it,
// done, with its matches, on both sides, and Rows still reads its result.
func TestListSurvivesRestart(t *testing.T) {
	p := newPair(t, pairOptions{reqList: phones(0, 600), respList: phones(300, 900), grants: grantAll(bankA), chunk: 256})
	res, err := p.reconcile(t, transcript.ProtocolECDHBothLearn, 1)
	must(t, err)
	restart(t, &p.req, &p.reqDB, &p.reqCfg)
	p.restartResponder(t)
	for name, n := range map[string]*Node{"requester": p.req, "responder": p.resp} {
		l := n.List()
		if len(l) != 1 || l[0].GetId() != res.ID || l[0].GetState() != StateDone || l[0].GetMatches() != 300 {
			t.Fatalf("%s lists %v after a restart", name, l)
		}
		if st, err := n.Get(res.ID); err != nil || st.GetState() != StateDone {
			t.Fatalf("%s: Get after a restart: %v, %v", name, st, err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var got []string
	must(t, p.req.Rows(ctx, res.ID, func(b *riskmeshv1.ReconciledRows) error {
		for _, r := range b.GetRows() {
			got = append(got, r.GetId())
		}
		return nil
	}))
	slices.Sort(got)
	if want := ids(phones(300, 600)); !slices.Equal(got, want) {
		t.Fatalf("Rows after a restart: %d rows, want %d", len(got), len(want))
	}
}
