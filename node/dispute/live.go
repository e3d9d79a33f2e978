package dispute

import (
	"context"
	"fmt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/node/auditor"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// LiveUnanswered files a live dispute of the entry under key (this
// institution's live exchange, whose POPRF step the provider billed): step
// is the homomorphic query this node signed for it (requester.LiveStep),
// which the provider never answered. It verifies the verdict and submits
// the reversal if it is upheld. A rejection because the provider showed
// its receipt carries that step in Outcome.LiveStep: the step was
// answered, and the same query sent again is answered again, unbilled
// (docs/audit.md, "Live mode").
func (c *Client) LiveUnanswered(ctx context.Context, key accounting.EntryKey, step *audit.LiveStep, claim string) (*Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	enc, err := step.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("dispute: encode the live step: %w", err)
	}
	resp, err := c.cfg.Auditor.FileDispute(ctx, &riskmeshv1.FileDisputeRequest{Reason: claim,
		LiveUnanswered: &riskmeshv1.LiveUnanswered{Entry: auditor.KeyToProto(key), LiveStep: enc}})
	if err != nil {
		return nil, fmt.Errorf("dispute: file live dispute with %s: %w", c.cfg.AuditorMSP, err)
	}
	v := resp.GetVerdict()
	if err := c.check(ctx, key, v); err != nil {
		return nil, err
	}
	out := &Outcome{Verdict: v}
	if v.Verdict != riskmeshv1.Verdict_VERDICT_UPHELD {
		if shown := resp.GetLiveStep(); len(shown) > 0 {
			out.LiveStep = new(audit.LiveStep)
			if err := out.LiveStep.UnmarshalBinary(shown); err != nil {
				return out, fmt.Errorf("%w: the provider's live step: %w", ErrBadVerdict, err)
			}
		}
		c.log(ctx, "live dispute rejected", key, v)
		return out, nil
	}
	return out, c.reverse(ctx, key, v, out)
}
