package recon

import (
	"os"
	"slices"
	"testing"

	"github.com/riskmesh/riskmesh/psi/transcript"
)

// TestReconcile runs both modes over real QUIC with lists of different
// sizes and several chunks each, and checks each side's result file holds
// exactly the planted overlap, and that both keep the same complete,
// verifying transcript.
func TestReconcile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		proto    transcript.Protocol
		respSees bool
	}{
		{"RequesterLearns", transcript.ProtocolECDHRequesterLearns, false},
		{"BothLearn", transcript.ProtocolECDHBothLearn, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reqList, respList := phones(0, 1000), phones(700, 2300)
			p := newPair(t, pairOptions{reqList: reqList, respList: respList, grants: grantAll(bankA), chunk: 256})
			res, err := p.reconcile(t, tc.proto, 1)
			must(t, err)
			want := ids(phones(700, 1000))
			if got := readResult(t, res.ResultPath); !slices.Equal(got, want) {
				t.Fatalf("requester's result: %d rows, want the %d planted", len(got), len(want))
			}
			if res.Matches != len(want) || res.Header.ResponderSize != 1600 || res.Header.RequesterSize != 1000 {
				t.Fatalf("result %+v", res)
			}
			respResult, respTranscript := paths(p.respDir, res.ID)
			var wantResp []string
			if tc.respSees {
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
		})
	}
}

func readTranscript(t *testing.T, path string) *transcript.ReconTranscript {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	tr, err := transcript.ParseReconTranscript(data)
	must(t, err)
	return tr
}
