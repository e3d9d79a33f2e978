package accounting

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/riskmesh/riskmesh/chaincode"
)

// Governance modes, re-exported.
const (
	GovernanceRegulator = chaincode.GovernanceRegulator
	GovernanceMembers   = chaincode.GovernanceMembers
)

// ProposalDigest is the digest an approval of fn with arg names: arg is
// encoded as Propose encodes it.
func ProposalDigest(fn string, arg any) ([32]byte, error) {
	raw, err := json.Marshal(arg)
	if err != nil {
		return [32]byte{}, fmt.Errorf("accounting: encode %s argument: %w", fn, err)
	}
	d, err := chaincode.ProposalDigest(fn, raw)
	return d, mapError(err)
}

func (c *Client) Propose(ctx context.Context, fn string, arg any, lifetime uint64) (*Proposal, error) {
	raw, err := json.Marshal(arg)
	if err != nil {
		return nil, fmt.Errorf("accounting: encode %s argument: %w", fn, err)
	}
	return call[Proposal](ctx, c, true, chaincode.FnPropose, chaincode.ProposeArgs{Function: fn, Arg: raw, Lifetime: lifetime})
}

func (c *Client) Approve(ctx context.Context, id string, digest []byte) error {
	return c.submit(ctx, chaincode.FnApprove, chaincode.ApproveArgs{ID: id, Digest: digest}, nil)
}

func (c *Client) Execute(ctx context.Context, id string) (*Proposal, error) {
	return call[Proposal](ctx, c, true, chaincode.FnExecute, chaincode.ProposalArgs{ID: id})
}

func (c *Client) SetGovernance(ctx context.Context, g GovernanceRule) error {
	return c.submit(ctx, chaincode.FnSetGovernance, g, nil)
}

func (c *Client) Governance(ctx context.Context) (*GovernanceRule, error) {
	return call[GovernanceRule](ctx, c, false, chaincode.FnGetGovernance, empty{})
}

func (c *Client) Proposal(ctx context.Context, id string) (*ProposalView, error) {
	return call[ProposalView](ctx, c, false, chaincode.FnGetProposal, chaincode.ProposalArgs{ID: id})
}

func (c *Client) Proposals(ctx context.Context, q ProposalsQuery) (*ProposalsPage, error) {
	return call[ProposalsPage](ctx, c, false, chaincode.FnListProposals, q)
}
