package chaincode

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/riskmesh/riskmesh/internal/labelhash"
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

// Labels of the governance hashes: the digest an approval binds, and a
// proposal's id.
const (
	LabelProposal   = "riskmesh/v1/ledger/proposal"
	LabelProposalID = "riskmesh/v1/ledger/proposal-id"
)

// Decisions lists the functions that are consortium decisions: the ones
// governance applies to and a proposal may carry. The period mechanics
// (Rollover, ClosePeriod, Settle, Snapshot, MarkPaid) stay the
// operator's and are not decisions.
var Decisions = []string{
	FnAddInstitution, FnSetStatus, FnSetRoles, FnSetPrice, FnSetLimit,
	FnSetQualityPolicy, FnSetGovernance,
}

// ProposeArgs proposes running Function with Arg. The proposal stays open
// through the period Lifetime periods after the current one.
type ProposeArgs struct {
	Function string          `json:"function"`
	Arg      json.RawMessage `json:"arg"`
	Lifetime uint64          `json:"lifetime,omitempty"`
}

// Proposal is a proposed decision. Its id is derived from the id of the
// transaction that proposed it (proposalID); Digest is ProposalDigest(Function, Arg), which every
// approval must name.
type Proposal struct {
	ID           string          `json:"id"`
	Function     string          `json:"function"`
	Arg          json.RawMessage `json:"arg"`
	Digest       []byte          `json:"digest"`
	Proposer     string          `json:"proposer"`
	ProposedIn   uint64          `json:"proposedIn"`
	ExpiresAfter uint64          `json:"expiresAfter"`
	// ExecutedBy and ExecutedIn are set once the decision took effect.
	ExecutedBy string `json:"executedBy,omitempty"`
	ExecutedIn uint64 `json:"executedIn,omitempty"`
}

// Executed reports whether the decision took effect.
func (p *Proposal) Executed() bool { return p.ExecutedBy != "" }

// Approval is one member's vote on a proposal, stored under its own key.
type Approval struct {
	Voter  string `json:"voter"`
	Digest []byte `json:"digest"`
	Period uint64 `json:"period"`
}

// ApproveArgs approves proposal ID, whose decision has Digest.
type ApproveArgs struct {
	ID     string `json:"id"`
	Digest []byte `json:"digest"`
}

// ProposalArgs names a proposal.
type ProposalArgs struct {
	ID string `json:"id"`
}

// ProposalView is a proposal with its approvals, and how many of them
// count now (from members active now, naming the proposal's digest).
type ProposalView struct {
	Proposal  Proposal   `json:"proposal"`
	Approvals []Approval `json:"approvals"`
	Counted   int        `json:"counted"`
}

// ProposalsQuery pages through the proposals in id order.
type ProposalsQuery struct {
	After string `json:"after,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

// ProposalsPage is one page; Next is the After of the next page, empty at
// the end.
type ProposalsPage struct {
	Proposals []Proposal `json:"proposals"`
	Next      string     `json:"next,omitempty"`
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

// ProposalDigest is what an approval binds: the function and the
// argument in canonical form (canonicalArg), so whitespace does not change
// it. The function name is length-prefixed (at most 255 bytes) and the
// argument runs to the end.
func ProposalDigest(fn string, arg []byte) ([HashSize]byte, error) {
	if len(fn) == 0 || len(fn) > 255 {
		return [HashSize]byte{}, newError(CodeInvalidArgument, "function name of 1 to 255 bytes")
	}
	canon, err := canonicalArg(arg)
	if err != nil {
		return [HashSize]byte{}, err
	}
	return labelhash.Sum(LabelProposal, []byte{byte(len(fn))}, []byte(fn), canon), nil
}

// canonicalArg returns arg as a stored proposal holds it: encoding/json's
// form of the raw value (compacted, HTML characters escaped), so the
// digest of a proposal read back equals the digest it was proposed with.
func canonicalArg(arg []byte) ([]byte, error) {
	canon, err := json.Marshal(json.RawMessage(arg))
	if err != nil {
		return nil, newError(CodeInvalidArgument, "proposal argument is not JSON")
	}
	return canon, nil
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

func (c *Contract) propose(st State, arg []byte) (any, error) {
	var a ProposeArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	if !slices.Contains(Decisions, a.Function) {
		return nil, newError(CodeInvalidArgument, fmt.Sprintf("%.64q is not a consortium decision", a.Function))
	}
	if len(a.Arg) == 0 || len(a.Arg) > MaxProposalArgSize {
		return nil, newError(CodeInvalidArgument, fmt.Sprintf("a proposal's argument has 1 to %d bytes", MaxProposalArgSize))
	}
	if a.Lifetime > MaxProposalLifetime {
		return nil, newError(CodeInvalidArgument, fmt.Sprintf("a proposal lives at most %d periods after the current one", MaxProposalLifetime))
	}
	g, written, err := c.requireMembersMode(st)
	if err != nil {
		return nil, err
	}
	caller, err := c.proposer(st)
	if err != nil {
		return nil, err
	}
	canon, err := canonicalArg(a.Arg)
	if err != nil {
		return nil, err
	}
	if canon[0] != '{' {
		return nil, newError(CodeInvalidArgument, "a decision's argument is a JSON object")
	}
	digest, err := ProposalDigest(a.Function, canon)
	if err != nil {
		return nil, err
	}
	cur, err := currentPeriod(st)
	if err != nil {
		return nil, err
	}
	id := proposalID(st.TxID())
	p := &Proposal{
		ID: id, Function: a.Function, Arg: canon, Digest: digest[:],
		Proposer: caller, ProposedIn: cur, ExpiresAfter: cur + a.Lifetime,
	}
	if !written { // a genesis rule nothing has written yet: write it now
		if err := putJSON(st, keyGovernance, &g); err != nil {
			return nil, err
		}
	}
	return p, putJSON(st, proposalKey(id), p)
}

// openProposal loads proposal id for a vote or an execution: it must
// exist, not have taken effect and not have expired.
func openProposal(st State, id string) (*Proposal, error) {
	if !validProposalID(id) {
		return nil, newError(CodeInvalidArgument, "invalid proposal id")
	}
	var p Proposal
	ok, err := getJSON(st, proposalKey(id), &p)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, newError(CodeNotFound, "no such proposal")
	}
	if p.Executed() {
		return nil, newError(CodeConflict, fmt.Sprintf("proposal was executed in period %d", p.ExecutedIn))
	}
	cur, err := currentPeriod(st)
	if err != nil {
		return nil, err
	}
	if cur > p.ExpiresAfter {
		return nil, newError(CodePeriodClosed, fmt.Sprintf("proposal expired after period %d", p.ExpiresAfter))
	}
	return &p, nil
}

func (c *Contract) approve(st State, arg []byte) (any, error) {
	var a ApproveArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	if _, _, err := c.requireMembersMode(st); err != nil {
		return nil, err
	}
	inst, err := c.voter(st)
	if err != nil {
		return nil, err
	}
	p, err := openProposal(st, a.ID)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(a.Digest, p.Digest) {
		return nil, newError(CodeConflict, "the approval names another decision than the proposal's")
	}
	key := voteKey(p.ID, inst.MSPID)
	old, err := st.Get(key)
	if err != nil {
		return nil, err
	}
	if old != nil {
		return nil, newError(CodeConflict, fmt.Sprintf("%s has approved this proposal already", inst.MSPID))
	}
	cur, err := currentPeriod(st)
	if err != nil {
		return nil, err
	}
	return nil, putJSON(st, key, &Approval{Voter: inst.MSPID, Digest: a.Digest, Period: cur})
}

// approvals returns a proposal's stored approvals and how many count now:
// from an institution active now, other than the regulator, naming the
// proposal's digest. The count is made at execution, so a member
// suspended after approving no longer counts.
func (c *Contract) approvals(st State, p *Proposal) ([]Approval, int, error) {
	out := []Approval{}
	counted := 0
	prefix := votePrefix(p.ID)
	err := scan(st, prefix, rangeEnd(prefix), func(k string, v []byte) (bool, error) {
		var a Approval
		if err := decodeStored(k, v, &a); err != nil {
			return false, err
		}
		out = append(out, a)
		inst, err := loadInstitution(st, a.Voter)
		if CodeOf(err) == CodeNotFound {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if inst.Status == StatusActive && inst.MSPID != c.regulator && bytes.Equal(a.Digest, p.Digest) {
			counted++
		}
		return true, nil
	})
	return out, counted, err
}

func (c *Contract) execute(st State, arg []byte) (any, error) {
	var a ProposalArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	g, _, err := c.requireMembersMode(st)
	if err != nil {
		return nil, err
	}
	caller, err := c.proposer(st)
	if err != nil {
		return nil, err
	}
	p, err := openProposal(st, a.ID)
	if err != nil {
		return nil, err
	}
	_, counted, err := c.approvals(st, p)
	if err != nil {
		return nil, err
	}
	if counted < g.Threshold {
		return nil, newError(CodeFailedPrecondition, fmt.Sprintf("%d of the %d approvals needed from active members", counted, g.Threshold))
	}
	if _, err := functions[p.Function].run(c, decided{st}, p.Arg); err != nil {
		return nil, err
	}
	cur, err := currentPeriod(st)
	if err != nil {
		return nil, err
	}
	p.ExecutedBy, p.ExecutedIn = caller, cur
	return p, putJSON(st, proposalKey(p.ID), p)
}

func (c *Contract) getProposal(st State, arg []byte) (any, error) {
	var a ProposalArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	if !validProposalID(a.ID) {
		return nil, newError(CodeInvalidArgument, "invalid proposal id")
	}
	var p Proposal
	ok, err := getJSON(st, proposalKey(a.ID), &p)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, newError(CodeNotFound, "no such proposal")
	}
	approvals, counted, err := c.approvals(st, &p)
	if err != nil {
		return nil, err
	}
	return &ProposalView{Proposal: p, Approvals: approvals, Counted: counted}, nil
}

func (c *Contract) listProposals(st State, arg []byte) (any, error) {
	var q ProposalsQuery
	if err := decodeArg(arg, &q); err != nil {
		return nil, err
	}
	if q.After != "" && !validProposalID(q.After) {
		return nil, newError(CodeInvalidArgument, "invalid proposal id")
	}
	if q.Limit == 0 {
		q.Limit = DefaultPageSize
	}
	if q.Limit < 0 || q.Limit > MaxPageSize {
		return nil, newError(CodeInvalidArgument, fmt.Sprintf("limit must be 1 to %d", MaxPageSize))
	}
	start := prefixProposal
	if q.After != "" {
		start = proposalKey(q.After) + "\x00"
	}
	page := &ProposalsPage{Proposals: []Proposal{}}
	err := scan(st, start, rangeEnd(prefixProposal), func(k string, v []byte) (bool, error) {
		if len(page.Proposals) == q.Limit {
			page.Next = page.Proposals[q.Limit-1].ID
			return false, nil
		}
		var p Proposal
		if err := decodeStored(k, v, &p); err != nil {
			return false, err
		}
		page.Proposals = append(page.Proposals, p)
		return true, nil
	})
	return page, err
}

// Execute runs other functions' handlers from the functions table, so it
// joins the table here: listed there, it would make the table's
// initialisation refer to itself.
func init() { functions[FnExecute] = function{run: (*Contract).execute} }

// Governance keys. Each approval has a key of its own, written only by
// its voter, so members approving at once never conflict (like the
// quality summaries, qsumKey).
const (
	keyGovernance  = "governance" // the rule in force, once written
	prefixProposal = "proposal/"  // proposal/<id> -> Proposal
	prefixVote     = "vote/"      // vote/<id>/<msp> -> Approval
)

func proposalKey(id string) string { return prefixProposal + id }

func votePrefix(id string) string { return prefixVote + id + "/" }

func voteKey(id, msp string) string { return votePrefix(id) + msp }

// proposalID derives a proposal's id from its transaction's: unique as
// the transaction id is, and of one fixed form whatever the host's ids
// look like.
func proposalID(txID string) string {
	h := labelhash.Sum(LabelProposalID, []byte(txID))
	return hex.EncodeToString(h[:proposalIDSize])
}

// validProposalID accepts the form proposalID makes.
func validProposalID(id string) bool {
	if len(id) != 2*proposalIDSize {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !('0' <= id[i] && id[i] <= '9' || 'a' <= id[i] && id[i] <= 'f') {
			return false
		}
	}
	return true
}
