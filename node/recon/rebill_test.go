package recon

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"

	"github.com/riskmesh/riskmesh/psi/transcript"
)

// TestRebillSettlesOnce runs a reconciliation whose first Bill fails, so
// that Rebill bills it, and checks that Rebill reads a settled transcript
// no more: the responder's once billed, the requester's own (which its
// node never bills) once seen. Each is then damaged on disk, and the next
// passes neither bill again nor report the damaged files.
func TestRebillSettlesOnce(t *testing.T) {
	var bills, failures atomic.Int32
	failures.Store(1)
	bill := func(context.Context, *transcript.ReconTranscript) error {
		if failures.Add(-1) >= 0 {
			return errors.New("ledger down")
		}
		bills.Add(1)
		return nil
	}
	p := newPair(t, pairOptions{reqList: phones(0, 100), respList: phones(50, 150), grants: grantAll(bankA), chunk: 32,
		tune: func(c *Config) { c.Bill = bill }})
	p.reqCfg.Bill = bill
	restart(t, &p.req, &p.reqDB, &p.reqCfg)
	// The responder refuses its last answer when Bill fails (the
	// requester's run fails); its transcript is complete all the same.
	_, _ = p.reconcile(t, transcript.ProtocolECDHBothLearn, 1)
	if bills.Load() != 0 {
		t.Fatal("billed although Bill failed")
	}
	for _, n := range []*Node{p.resp, p.req} {
		if _, err := n.Rebill(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if bills.Load() != 1 {
		t.Fatalf("Rebill billed %d times, want once", bills.Load())
	}
	id := ID(bankA, bankB, 7, 1)
	for _, dir := range []string{p.respDir, p.reqDir} {
		_, tp := paths(dir, id)
		must(t, os.WriteFile(tp, []byte("damaged"), 0o600))
	}
	for range 2 {
		for _, n := range []*Node{p.resp, p.req} {
			if billed, err := n.Rebill(t.Context()); err != nil || billed != 0 {
				t.Fatalf("a later pass billed %d, err %v: it read a settled transcript", billed, err)
			}
		}
	}
	if bills.Load() != 1 {
		t.Fatalf("billed %d times, want once", bills.Load())
	}
}
