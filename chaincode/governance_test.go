package chaincode

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// txState is a memState whose transactions have distinct ids, as both
// ledgers' have (a proposal's id is derived from its transaction's).
type txState struct {
	*memState
	n int
}

func (s *txState) TxID() string { s.n++; return fmt.Sprint("tx", s.n) }

func (s *txState) as(caller string) *txState {
	s.caller = caller
	return s
}

// govCall calls fn as caller with arg encoded as JSON and decodes the result.
func govCall[T any](t *testing.T, c *Contract, st *txState, caller, fn string, arg any) (*T, error) {
	t.Helper()
	b, err := json.Marshal(arg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Invoke(st.as(caller), fn, b)
	if err != nil {
		return nil, err
	}
	var out T
	if err := json.Unmarshal(res, &out); err != nil {
		t.Fatal(err)
	}
	return &out, nil
}

func wantCode(t *testing.T, err error, code Code) {
	t.Helper()
	if CodeOf(err) != code {
		t.Fatalf("error %v, want %s", err, code)
	}
}

func TestGenesisThreshold(t *testing.T) {
	for in, want := range map[string]Governance{
		"": {Mode: GovernanceRegulator}, "0": {Mode: GovernanceRegulator},
		"2": {Mode: GovernanceMembers, Threshold: 2}, "1000": {Mode: GovernanceMembers, Threshold: 1000},
	} {
		if g, err := GenesisThreshold(in); err != nil || g != want {
			t.Errorf("GenesisThreshold(%q) = %+v, %v; want %+v", in, g, err, want)
		}
	}
	for _, in := range []string{"-1", "1001", "two", "2 ", "0x2"} {
		if _, err := GenesisThreshold(in); err == nil {
			t.Errorf("GenesisThreshold(%q) accepted", in)
		}
	}
	if _, err := New("Reg", WithGenesis(Governance{Mode: GovernanceMembers})); err == nil {
		t.Error("New accepted member governance without a threshold")
	}
}

// TestProposalDigestIsCanonical: whitespace does not change what an
// approval binds, the function and every byte of meaning do, and a
// proposal read back (whose argument encoding/json re-escaped) still has
// the digest it was proposed with.
func TestProposalDigestIsCanonical(t *testing.T) {
	a, err := ProposalDigest(FnSetLimit, []byte(`{"mspId":"A","limit":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ProposalDigest(FnSetLimit, []byte(" {\n\"mspId\" : \"A\", \"limit\":1 }"))
	c, _ := ProposalDigest(FnSetLimit, []byte(`{"mspId":"A","limit":2}`))
	d, _ := ProposalDigest(FnSetPrice, []byte(`{"mspId":"A","limit":1}`))
	if a != b || a == c || a == d {
		t.Fatalf("digests %x %x %x %x", a, b, c, d)
	}
	if _, err := ProposalDigest(FnSetLimit, []byte(`{"mspId":`)); CodeOf(err) != CodeInvalidArgument {
		t.Fatalf("digest of broken JSON: %v", err)
	}

	con, st := members(t, 2)
	arg := AddInstitutionArgs{MSPID: "C", Name: "C&D <Bank>", Roles: []Role{RoleRequester}}
	p, err := govCall[Proposal](t, con, st, "A", FnPropose, proposeArgs(t, FnAddInstitution, arg, 1))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Proposal
	if err := json.Unmarshal(stored, &back); err != nil {
		t.Fatal(err)
	}
	again, err := ProposalDigest(back.Function, back.Arg)
	if err != nil || string(again[:]) != string(p.Digest) {
		t.Fatalf("digest of the argument read back %x, proposed %x (%v)", again, p.Digest, err)
	}
}

func proposeArgs(t *testing.T, fn string, arg any, lifetime uint64) ProposeArgs {
	t.Helper()
	b, err := json.Marshal(arg)
	if err != nil {
		t.Fatal(err)
	}
	return ProposeArgs{Function: fn, Arg: b, Lifetime: lifetime}
}

// members returns a member-governed contract with threshold k whose
// regulator founded it with k institutions A, B, ....
func members(t *testing.T, k int) (*Contract, *txState) {
	t.Helper()
	c, err := New("Reg", WithGenesis(Governance{Mode: GovernanceMembers, Threshold: k}))
	if err != nil {
		t.Fatal(err)
	}
	st := &txState{memState: &memState{kv: map[string][]byte{}}}
	for i := range k {
		msp := string(rune('A' + i))
		if _, err := govCall[struct{}](t, c, st, "Reg", FnAddInstitution, AddInstitutionArgs{MSPID: msp, Name: msp, Roles: []Role{RoleRequester}}); err != nil {
			t.Fatal(err)
		}
	}
	return c, st
}

// TestAdversaryFoundingPhase plays the regulator of a member-governed
// genesis: it registers the founders alone, but no more than the
// threshold, nothing else, and nothing once a proposal was made; and a
// chaincode redeployed with the regulator's genesis finds the member rule
// already written.
func TestAdversaryFoundingPhase(t *testing.T) {
	c, st := members(t, 2)
	_, err := govCall[struct{}](t, c, st, "Reg", FnAddInstitution, AddInstitutionArgs{MSPID: "Puppet", Name: "p", Roles: []Role{RoleRequester}})
	wantCode(t, err, CodeForbidden)
	_, err = govCall[struct{}](t, c, st, "Reg", FnSetLimit, SetLimitArgs{MSPID: "A", Limit: 1})
	wantCode(t, err, CodeForbidden)
	_, err = govCall[struct{}](t, c, st, "A", FnAddInstitution, AddInstitutionArgs{MSPID: "Puppet", Name: "p", Roles: []Role{RoleRequester}})
	wantCode(t, err, CodeForbidden)

	redeployed, err := New("Reg")
	if err != nil {
		t.Fatal(err)
	}
	_, err = govCall[struct{}](t, redeployed, st, "Reg", FnSetLimit, SetLimitArgs{MSPID: "A", Limit: 1})
	wantCode(t, err, CodeForbidden)
	g, err := govCall[Governance](t, redeployed, st, "B", FnGetGovernance, struct{}{})
	if err != nil || *g != (Governance{Mode: GovernanceMembers, Threshold: 2}) {
		t.Fatalf("redeployed governance %+v, %v", g, err)
	}

	// A founder suspended by the members reopens no founding phase once
	// a proposal was made.
	p, err := govCall[Proposal](t, c, st, "A", FnPropose, proposeArgs(t, FnSetStatus, SetStatusArgs{MSPID: "B", Status: StatusSuspended}, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"A", "B"} {
		if _, err := govCall[struct{}](t, c, st, v, FnApprove, ApproveArgs{ID: p.ID, Digest: p.Digest}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := govCall[Proposal](t, c, st, "A", FnExecute, ProposalArgs{ID: p.ID}); err != nil {
		t.Fatal(err)
	}
	_, err = govCall[struct{}](t, c, st, "Reg", FnAddInstitution, AddInstitutionArgs{MSPID: "Puppet", Name: "p", Roles: []Role{RoleRequester}})
	wantCode(t, err, CodeForbidden)
}

// TestAdversaryProposalInputs: a proposal carries only a decision, with a
// bounded argument; ids are checked before they reach a key.
func TestAdversaryProposalInputs(t *testing.T) {
	c, st := members(t, 2)
	for _, tc := range []struct {
		name string
		arg  ProposeArgs
		code Code
	}{
		{"PeriodMechanics", ProposeArgs{Function: FnRollover, Arg: []byte(`{}`)}, CodeInvalidArgument},
		{"Execute", ProposeArgs{Function: FnExecute, Arg: []byte(`{"id":"00"}`)}, CodeInvalidArgument},
		{"Record", ProposeArgs{Function: FnRecord, Arg: []byte(`[]`)}, CodeInvalidArgument},
		{"NoArgument", ProposeArgs{Function: FnSetLimit}, CodeInvalidArgument},
		{"Oversized", ProposeArgs{Function: FnSetLimit, Arg: fmt.Appendf(nil, `"%0*d"`, MaxProposalArgSize, 0)}, CodeInvalidArgument},
		{"Lifetime", ProposeArgs{Function: FnSetLimit, Arg: []byte(`{}`), Lifetime: MaxProposalLifetime + 1}, CodeInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := govCall[Proposal](t, c, st, "A", FnPropose, tc.arg)
			wantCode(t, err, tc.code)
		})
	}
	for _, id := range []string{"", "../inst/A", "ABCDEF", string(make([]byte, 65))} {
		_, err := govCall[ProposalView](t, c, st, "A", FnGetProposal, ProposalArgs{ID: id})
		wantCode(t, err, CodeInvalidArgument)
		_, err = govCall[struct{}](t, c, st, "A", FnApprove, ApproveArgs{ID: id})
		wantCode(t, err, CodeInvalidArgument)
	}
	// A decision whose argument its handler refuses is refused at
	// execution, and the proposal stays open.
	p, err := govCall[Proposal](t, c, st, "A", FnPropose, ProposeArgs{Function: FnSetLimit, Arg: []byte(`{"mspId":"A","limit":-1}`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"A", "B"} {
		if _, err := govCall[struct{}](t, c, st, v, FnApprove, ApproveArgs{ID: p.ID, Digest: p.Digest}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = govCall[Proposal](t, c, st, "B", FnExecute, ProposalArgs{ID: p.ID})
	wantCode(t, err, CodeInvalidArgument)
	v, err := govCall[ProposalView](t, c, st, "B", FnGetProposal, ProposalArgs{ID: p.ID})
	if err != nil || v.Proposal.Executed() || v.Counted != 2 {
		t.Fatalf("after a refused execution: %+v, %v", v, err)
	}
}

// FuzzAdversaryOneMemberDecides lets member A of a two-of-two consortium
// make any two calls with any arguments: no panic, every error an *Error
// and none internal, and no decision taking effect: the registry, prices,
// limits, quality policy and rule are as they were.
func FuzzAdversaryOneMemberDecides(f *testing.F) {
	fns := Functions()
	idx := func(fn string) uint8 { return uint8(slices.Index(fns, fn)) }
	limit := []byte(`{"function":"SetLimit","arg":{"mspId":"A","limit":9}}`)
	// The first proposal's id: txState numbers transactions from 1.
	f.Add(idx(FnPropose), limit, idx(FnExecute), fmt.Appendf(nil, `{"id":%q}`, proposalID("tx1")))
	f.Add(idx(FnPropose), []byte(`{"function":"SetGovernance","arg":{"mode":"members","threshold":1}}`), idx(FnApprove), []byte(`{"id":"","digest":""}`))
	f.Add(idx(FnSetLimit), []byte(`{"mspId":"A","limit":9}`), idx(FnAddInstitution), []byte(`{"mspId":"C","name":"c","roles":[]}`))
	f.Add(idx(FnSetGovernance), []byte(`{"mode":"regulator"}`), idx(FnListProposals), []byte(`{"limit":1000}`))
	f.Fuzz(func(t *testing.T, fn1 uint8, arg1 []byte, fn2 uint8, arg2 []byte) {
		c, st := members(t, 2)
		decisions := func() string {
			out := ""
			for _, p := range []string{prefixInst, prefixPrice, prefixLimit} {
				if err := scan(st, p, rangeEnd(p), func(k string, v []byte) (bool, error) {
					out += k + "=" + string(v) + "\n"
					return true, nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			return out + string(st.kv[keyQPolicy]) + string(st.kv[keyGovernance])
		}
		before := decisions()
		for _, call := range []struct {
			fn  uint8
			arg []byte
		}{{fn1, arg1}, {fn2, arg2}} {
			_, err := c.Invoke(st.as("A"), fns[int(call.fn)%len(fns)], call.arg)
			var ce *Error
			if err != nil && (!errors.As(err, &ce) || ce.Code == CodeInternal) {
				t.Fatalf("%s: error %v", fns[int(call.fn)%len(fns)], err)
			}
		}
		if after := decisions(); after != before {
			t.Fatalf("one member changed a decision:\n%s\n%s", before, after)
		}
	})
}
