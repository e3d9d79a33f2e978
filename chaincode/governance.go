package chaincode

import (
	"fmt"
	"strconv"
)

// Member governance (docs/governance.md). The consortium's decisions
// (Decisions) are made in one of two modes, chosen at genesis:
//
//   - GovernanceRegulator: the regulator's key alone decides, calling the
//     decision functions directly (the behaviour before governance, and
//     the default).
//   - GovernanceMembers: a decision takes effect only by Propose, Approve
//     by Threshold active members, and Execute, which runs the decision's
//     own handler with the proposed argument; the regulator's direct
//     calls are refused.
//
// The mode and threshold are themselves a decision (SetGovernance), so
// they change only by the rule in force.

// GovernanceMode names how decisions are made.
type GovernanceMode string

const (
	// GovernanceRegulator: the regulator decides alone (the default
	// genesis, which WithGenesis gives the zero Governance).
	GovernanceRegulator GovernanceMode = "regulator"
	// GovernanceMembers: Threshold active members approve each decision.
	GovernanceMembers GovernanceMode = "members"
)

// Governance is the rule decisions are made by.
type Governance struct {
	Mode GovernanceMode `json:"mode"`
	// Threshold is how many active members must approve a proposal
	// (members mode only; 0 in regulator mode).
	Threshold int `json:"threshold,omitempty"`
}

// Governance bounds.
const (
	// MaxThreshold bounds a threshold; it is far above any consortium.
	MaxThreshold = 1000
	// MaxProposalLifetime bounds the periods after the current one a
	// proposal stays open.
	MaxProposalLifetime = 12
	// MaxProposalArgSize bounds a proposed decision's argument; every
	// decision's argument is far smaller.
	MaxProposalArgSize = 16 << 10
	// proposalIDSize is the bytes of a proposal id (hex-encoded).
	proposalIDSize = 16
)

// Decisions lists the functions that are consortium decisions: the ones
// governance applies to and a proposal may carry. The period mechanics
// (Rollover, ClosePeriod, Settle, Snapshot, MarkPaid) stay the
// operator's and are not decisions.
var Decisions = []string{
	FnAddInstitution, FnSetStatus, FnSetRoles, FnSetPrice, FnSetLimit,
	FnSetQualityPolicy, FnSetGovernance,
}

// Validate checks the rule's shape.
func (g Governance) Validate() error {
	switch g.Mode {
	case GovernanceRegulator:
		if g.Threshold != 0 {
			return newError(CodeInvalidArgument, "regulator governance has no threshold")
		}
	case GovernanceMembers:
		if g.Threshold < 1 || g.Threshold > MaxThreshold {
			return newError(CodeInvalidArgument, fmt.Sprintf("member governance needs a threshold of 1 to %d", MaxThreshold))
		}
	default:
		return newError(CodeInvalidArgument, fmt.Sprintf("unknown governance mode %.32q", g.Mode))
	}
	return nil
}

// Option configures a Contract at construction.
type Option func(*Contract) error

// WithGenesis sets the governance a ledger starts with. It takes effect
// on a ledger holding no governance record: regulator mode writes none
// (ledgers from before governance stay as they were), member mode is
// written by the first registration of the founding phase or the first
// proposal, and from then on only SetGovernance changes the rule.
func WithGenesis(g Governance) Option {
	return func(c *Contract) error {
		if g.Mode == "" && g.Threshold == 0 {
			g.Mode = GovernanceRegulator
		}
		if err := g.Validate(); err != nil {
			return fmt.Errorf("chaincode: genesis governance: %w", err)
		}
		c.genesis = g
		return nil
	}
}

// GenesisThreshold parses a deployment's threshold setting (the chaincode
// server's RISKMESH_GOVERNANCE_THRESHOLD, the embedded ledger's
// configuration): empty or "0" is regulator governance, k > 0 member
// governance with threshold k.
func GenesisThreshold(s string) (Governance, error) {
	if s == "" || s == "0" {
		return Governance{Mode: GovernanceRegulator}, nil
	}
	k, err := strconv.Atoi(s)
	g := Governance{Mode: GovernanceMembers, Threshold: k}
	if err != nil {
		return g, fmt.Errorf("chaincode: governance threshold %.32q is not a number", s)
	}
	return g, g.Validate()
}

// decided is the State a passed proposal's decision runs in: the one
// way past requireDecision under member governance. Only execute makes
// one.
type decided struct{ State }

// loadGovernance returns the rule in force and whether the ledger holds
// it (false: the genesis rule, not written yet).
func (c *Contract) loadGovernance(st State) (Governance, bool, error) {
	var g Governance
	ok, err := getJSON(st, keyGovernance, &g)
	if err != nil || !ok {
		return c.genesis, false, err
	}
	return g, true, nil
}

// requireDecision authorises a direct call of decision fn, or its run by
// execute. Under member governance direct calls are refused, except in
// the founding phase of a member-governed genesis: until the first
// proposal, the regulator registers institutions alone while fewer than
// Threshold active members exist, so that there is someone to vote. The
// first such registration writes the genesis rule into the ledger, so a
// chaincode redeployed with another genesis cannot undo it.
func (c *Contract) requireDecision(st State, fn string) error {
	if _, ok := st.(decided); ok {
		return nil
	}
	g, written, err := c.loadGovernance(st)
	if err != nil {
		return err
	}
	if g.Mode != GovernanceMembers {
		return c.requireRegulator(st)
	}
	if fn == FnAddInstitution {
		founding, err := c.founding(st, g)
		if err != nil {
			return err
		}
		if founding {
			if err := c.requireRegulator(st); err != nil {
				return err
			}
			if written {
				return nil
			}
			return putJSON(st, keyGovernance, &g)
		}
	}
	return newError(CodeForbidden, fmt.Sprintf("member governance: %s takes a proposal approved by %d members", fn, g.Threshold))
}

// founding reports whether a member-governed ledger is still being
// founded: no proposal was ever made and fewer than g.Threshold members
// could vote.
func (c *Contract) founding(st State, g Governance) (bool, error) {
	proposed := false
	err := scan(st, prefixProposal, rangeEnd(prefixProposal), func(string, []byte) (bool, error) {
		proposed = true
		return false, nil
	})
	if err != nil || proposed {
		return false, err
	}
	n, err := c.activeVoters(st)
	return n < g.Threshold, err
}

// voter returns the caller's registry record if it may vote: a
// registered, active institution other than the regulator.
func (c *Contract) voter(st State) (*Institution, error) {
	inst, err := loadCaller(st)
	if err != nil {
		return nil, err
	}
	if inst.MSPID == c.regulator {
		return nil, newError(CodeForbidden, "the regulator does not vote")
	}
	if inst.Status != StatusActive {
		return nil, newError(CodeInactive, fmt.Sprintf("institution %s is %s: it does not vote", inst.MSPID, inst.Status))
	}
	return inst, nil
}

// proposer returns the caller if it may propose and execute: the
// regulator or a voter.
func (c *Contract) proposer(st State) (string, error) {
	caller, err := st.Caller()
	if err != nil || caller == c.regulator {
		return caller, err
	}
	if _, err := c.voter(st); err != nil {
		return "", err
	}
	return caller, nil
}

// activeVoters counts the institutions that may vote now.
func (c *Contract) activeVoters(st State) (int, error) {
	n := 0
	err := scan(st, prefixInst, rangeEnd(prefixInst), func(k string, v []byte) (bool, error) {
		var inst Institution
		if err := decodeStored(k, v, &inst); err != nil {
			return false, err
		}
		if inst.Status == StatusActive && inst.MSPID != c.regulator {
			n++
		}
		return true, nil
	})
	return n, err
}

// requireMembersMode loads the rule and refuses proposals under regulator
// governance, where there is nothing to vote on.
func (c *Contract) requireMembersMode(st State) (Governance, bool, error) {
	g, written, err := c.loadGovernance(st)
	if err != nil {
		return g, written, err
	}
	if g.Mode != GovernanceMembers {
		return g, written, newError(CodeFailedPrecondition, "the regulator decides alone under this ledger's governance: nothing to propose")
	}
	return g, written, nil
}

func (c *Contract) setGovernance(st State, arg []byte) (any, error) {
	if err := c.requireDecision(st, FnSetGovernance); err != nil {
		return nil, err
	}
	var g Governance
	if err := decodeArg(arg, &g); err != nil {
		return nil, err
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if g.Mode == GovernanceMembers {
		n, err := c.activeVoters(st)
		if err != nil {
			return nil, err
		}
		if g.Threshold > n {
			return nil, newError(CodeFailedPrecondition, fmt.Sprintf("threshold %d exceeds the %d active members: no proposal could pass", g.Threshold, n))
		}
	}
	return nil, putJSON(st, keyGovernance, &g)
}

func (c *Contract) getGovernance(st State, arg []byte) (any, error) {
	if err := decodeArg(arg, &struct{}{}); err != nil {
		return nil, err
	}
	g, _, err := c.loadGovernance(st)
	return &g, err
}
