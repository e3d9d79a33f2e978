package recon

import (
	"errors"
	"os"
	"sync/atomic"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// TestQueueDisputes plays a responder whose reply to chunk 1 is wrong and
// signed (wrongReply). The requester's node queues the dispute when the
// reconciliation ends and marks it, so a restart does not queue it again;
// a node whose queue failed (as one killed between keeping the evidence
// and queueing it) leaves it unmarked and queues it, once, when it starts
// again. Either way the dispute queued is one an auditor upholds.
func TestQueueDisputes(t *testing.T) {
	for _, tc := range []struct {
		name          string
		queueFails    bool
		wantAtRestart int
	}{
		{"QueuedAtOnce", false, 0},
		{"QueuedAfterRestart", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var responder atomic.Pointer[member]
			p := newPair(t, pairOptions{reqList: phones(0, 1000), respList: phones(500, 1500), grants: grantAll(bankA), chunk: 256,
				wrap: wrongReply(t, &responder, true)})
			responder.Store(p.members[bankB])
			var queued []*audit.ReconDispute
			queue := func(d *audit.ReconDispute, reason string) error {
				if reason == "" {
					t.Error("a dispute queued without a reason")
				}
				queued = append(queued, d)
				return nil
			}
			p.reqCfg.Disputed = queue
			if tc.queueFails {
				p.reqCfg.Disputed = func(*audit.ReconDispute, string) error { return errors.New("node.db unavailable") }
			}
			restart(t, &p.req, &p.reqDB, &p.reqCfg)
			if _, err := p.reconcile(t, transcript.ProtocolECDHBothLearn, 1); !errors.Is(err, ecdh.ErrProof) {
				t.Fatalf("got %v, want ecdh.ErrProof", err)
			}
			_, tp := paths(p.reqDir, ID(bankA, bankB, 7, 1))
			if _, err := os.Stat(tp + disputedSuffix); errors.Is(err, os.ErrNotExist) != tc.queueFails {
				t.Fatalf("disputed mark: %v, want one only if the dispute was queued", err)
			}

			p.reqCfg.Disputed = queue
			restart(t, &p.req, &p.reqDB, &p.reqCfg)
			for range 2 {
				n, err := p.req.QueueDisputes(t.Context())
				must(t, err)
				if n != tc.wantAtRestart {
					t.Fatalf("QueueDisputes queued %d, want %d", n, tc.wantAtRestart)
				}
				tc.wantAtRestart = 0 // the second pass finds it marked
			}
			if len(queued) != 1 {
				t.Fatalf("%d disputes queued, want 1", len(queued))
			}
			d := audit.DecideReconciliation(queued[0], [][]byte{p.members[bankA].pub}, [][]byte{p.members[bankB].pub})
			if d.Verdict != accounting.VerdictUpheld {
				t.Fatalf("auditor on the queued dispute: %v (%s), want upheld", d.Verdict, d.Reason)
			}
		})
	}
}
