package chaincode

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/riskmesh/riskmesh/internal/labelhash"
)

// Proposals, approvals and their execution (docs/governance.md): how a
// decision passes under member governance.

// Labels of the governance hashes: the digest an approval binds, and a
// proposal's id.
const (
	LabelProposal   = "riskmesh/v1/ledger/proposal"
	LabelProposalID = "riskmesh/v1/ledger/proposal-id"
)

// ProposeArgs proposes running Function with Arg. The proposal stays open
// through the period Lifetime periods after the current one.
type ProposeArgs struct {
	Function string          `json:"function"`
	Arg      json.RawMessage `json:"arg"`
	Lifetime uint64          `json:"lifetime,omitempty"`
}

// Proposal is a proposed decision. Its id is derived from the id of the
// transaction that proposed it (proposalID); Digest is
// ProposalDigest(Function, Arg), which every approval must name.
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
