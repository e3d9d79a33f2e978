package requester

import (
	"testing"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// A provider answers with its registered key and a correct evaluation, but
// proves it under another rule than the one the requester asked for: RFC
// 9497's composite rule, whose batch proofs it could forge, or the
// full-width binding rule of header version 2. The requester asked under
// ProofBinding128 (its header says so, and it signed the header), so it
// refuses the answer: no hit is reported and the exchange is disputed.
func TestAdversaryProviderProvesUnderAnotherRule(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	r := n.newRequester("", nil)
	ready(t, r)
	p := n.providers[0]
	for _, rule := range []oprf.ProofRule{oprf.ProofRFC9497, oprf.ProofBinding} {
		p.set(func(p *testProvider) { p.rogueKey, p.rogueRule = p.key, rule })
		events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2, 3)})
		result := events[len(events)-1].GetResult()
		if res := providerResult(t, result, "P1MSP"); res.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED {
			t.Fatalf("proved under %v: result %v, want disputed", rule, res)
		}
		if hits := countHits(result); hits != 0 {
			t.Fatalf("proved under %v: %d hits reported from a refused answer", rule, hits)
		}
	}

	// The same provider proving under the rule asked for is believed.
	p.set(func(p *testProvider) { p.rogueRule = oprf.ProofBinding128 })
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(1, 2, 3)})
	result := events[len(events)-1].GetResult()
	if res := providerResult(t, result, "P1MSP"); res.Status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
		t.Fatalf("result %v, want answered", res)
	}
	if hits := countHits(result); hits != 3 {
		t.Fatalf("%d hits, want 3 (every identifier is listed)", hits)
	}
}

func countHits(res *riskmeshv1.QueryResult) int {
	n := 0
	for _, it := range res.Items {
		n += len(it.Hits)
	}
	return n
}
