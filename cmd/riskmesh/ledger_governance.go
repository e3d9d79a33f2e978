package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/accounting"
)

// newLedgerGovernanceCommands returns the member-governance subcommands of
// `ledger` (docs/governance.md): reading and changing the rule, and
// proposing, approving and executing decisions.
func newLedgerGovernanceCommands(l func() accounting.Ledger) []*cobra.Command {
	var (
		threshold int
		lifetime  uint64
		digestB64 string
		after     string
		limit     int
	)
	show := ledgerCmd("governance", "print the governance rule: the regulator alone, or how many members approve a decision", 0,
		func(ctx context.Context, w io.Writer, _ []string, _ *ledgerFlags) error {
			g, err := l().Governance(ctx)
			if err != nil {
				return err
			}
			return printJSON(w, g)
		}, nil)

	set := ledgerCmd("set-governance", "hand decisions to K members (--threshold K) as the regulator deciding alone; members propose SetGovernance instead", 0,
		func(ctx context.Context, w io.Writer, _ []string, _ *ledgerFlags) error {
			g := accounting.GovernanceRule{Mode: accounting.GovernanceRegulator}
			if threshold > 0 {
				g = accounting.GovernanceRule{Mode: accounting.GovernanceMembers, Threshold: threshold}
			}
			if err := l().SetGovernance(ctx, g); err != nil {
				return err
			}
			return printJSON(w, g)
		}, nil)
	set.Flags().IntVar(&threshold, "threshold", 0, "members that must approve each decision (0: the regulator decides alone)")

	propose := ledgerCmd("propose FUNCTION JSON", "propose a consortium decision (SetLimit, SetPrice, AddInstitution, SetStatus, SetRoles, SetQualityPolicy, SetGovernance) with its JSON argument", 2,
		func(ctx context.Context, w io.Writer, args []string, _ *ledgerFlags) error {
			if !json.Valid([]byte(args[1])) {
				return fmt.Errorf("argument of %s is not JSON", args[0])
			}
			p, err := l().Propose(ctx, args[0], json.RawMessage(args[1]), lifetime)
			if err != nil {
				return err
			}
			return printJSON(w, p)
		}, nil)
	propose.Flags().Uint64Var(&lifetime, "lifetime", 1, "periods after the current one the proposal stays open")

	approve := &cobra.Command{
		Use:   "approve ID (FUNCTION JSON | --digest BASE64)",
		Short: "approve a proposal, naming the decision you reviewed (FUNCTION JSON) or its digest",
		Args:  cobra.RangeArgs(1, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			digest, err := approvedDigest(args[1:], digestB64)
			if err != nil {
				return err
			}
			if err := l().Approve(cmd.Context(), args[0], digest); err != nil {
				return err
			}
			v, err := l().Proposal(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), v)
		},
	}
	approve.Flags().StringVar(&digestB64, "digest", "", "the decision's digest as `ledger proposal` prints it (instead of FUNCTION and JSON)")

	execute := ledgerCmd("execute ID", "make a proposal enough active members approved take effect", 1,
		func(ctx context.Context, w io.Writer, args []string, _ *ledgerFlags) error {
			p, err := l().Execute(ctx, args[0])
			if err != nil {
				return err
			}
			return printJSON(w, p)
		}, nil)

	one := ledgerCmd("proposal ID", "print a proposal, its approvals and how many of them count now", 1,
		func(ctx context.Context, w io.Writer, args []string, _ *ledgerFlags) error {
			v, err := l().Proposal(ctx, args[0])
			if err != nil {
				return err
			}
			return printJSON(w, v)
		}, nil)

	list := ledgerCmd("proposals", "print a page of proposals in id order", 0,
		func(ctx context.Context, w io.Writer, _ []string, _ *ledgerFlags) error {
			p, err := l().Proposals(ctx, accounting.ProposalsQuery{After: after, Limit: limit})
			if err != nil {
				return err
			}
			return printJSON(w, p)
		}, nil)
	list.Flags().StringVar(&after, "after", "", "start after this proposal id (the previous page's next)")
	list.Flags().IntVar(&limit, "limit", 0, "proposals per page (0: the ledger's default)")

	return []*cobra.Command{show, set, propose, approve, execute, one, list}
}

// errApproveWhat is the usage error of approve without exactly one way of
// naming the decision.
var errApproveWhat = errors.New("approve: name the decision you approve: FUNCTION and JSON, or --digest")

// approvedDigest is the digest an approval names: computed from the
// decision the member reviewed (FUNCTION JSON), or given.
func approvedDigest(decision []string, digestB64 string) ([]byte, error) {
	switch {
	case len(decision) == 2 && digestB64 == "":
		if !json.Valid([]byte(decision[1])) {
			return nil, fmt.Errorf("argument of %s is not JSON", decision[0])
		}
		d, err := accounting.ProposalDigest(decision[0], json.RawMessage(decision[1]))
		return d[:], err
	case len(decision) == 0 && digestB64 != "":
		d, err := base64.StdEncoding.DecodeString(digestB64)
		if err != nil || len(d) != 32 {
			return nil, fmt.Errorf("digest %.80q: want 32 bytes in base64, as `ledger proposal` prints it", digestB64)
		}
		return d, nil
	}
	return nil, errApproveWhat
}
