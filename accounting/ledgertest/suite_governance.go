package ledgertest

import (
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
)

// governance switches the ledger to member governance (two of the three
// banks approve each decision; the regulator does not vote) and plays
// the dishonest members and the dishonest regulator against it
// (docs/governance.md): a regulator bypassing the rule, a proposal
// executed before enough approvals, a member approving twice, an approval
// of another argument than the proposal's, a suspended member's vote, an
// expired proposal, a proposal executed twice. It ends by returning the
// ledger to the regulator by the same rule, with every limit it changed
// as it found it, so it runs last and on a ledger a previous run left.
func (s *scenario) governance(t *testing.T) {
	reg, b1, b2, b3 := s.h.Regulator.Ledger, s.h.Bank1.Ledger, s.h.Bank2.Ledger, s.h.Bank3.Ledger
	limits := map[string]int64{}
	for _, msp := range []string{Bank1MSP, Bank2MSP, Bank3MSP} {
		a, err := reg.Account(ctx(t), msp)
		must(t, err)
		limits[msp] = a.Limit
	}
	limit := func(t *testing.T, msp string) int64 {
		t.Helper()
		a, err := b1.Account(ctx(t), msp)
		must(t, err)
		return a.Limit
	}
	// pass proposes fn with arg as proposer, has voters approve it and
	// executor execute it.
	pass := func(t *testing.T, proposer, executor accounting.Ledger, fn string, arg any, voters ...accounting.Ledger) *accounting.Proposal {
		t.Helper()
		p, err := proposer.Propose(ctx(t), fn, arg, 1)
		must(t, err)
		for _, v := range voters {
			must(t, v.Approve(ctx(t), p.ID, p.Digest))
		}
		done, err := executor.Execute(ctx(t), p.ID)
		must(t, err)
		if !done.Executed() || done.ID != p.ID {
			t.Fatalf("executed proposal %+v", done)
		}
		return done
	}

	t.Run("RegulatorMode", func(t *testing.T) {
		g, err := b2.Governance(ctx(t))
		must(t, err)
		if g.Mode != accounting.GovernanceRegulator {
			t.Fatalf("ledger starts under %+v, want the regulator's governance", g)
		}
		_, err = b1.Propose(ctx(t), chaincode.FnSetLimit, chaincode.SetLimitArgs{MSPID: Bank1MSP, Limit: 1}, 0)
		wantErr(t, err, accounting.ErrFailedPrecondition)
		members := accounting.GovernanceRule{Mode: accounting.GovernanceMembers, Threshold: 2}
		wantErr(t, b1.SetGovernance(ctx(t), members), accounting.ErrForbidden)
		// Three banks vote; the regulator does not.
		wantErr(t, reg.SetGovernance(ctx(t), accounting.GovernanceRule{Mode: accounting.GovernanceMembers, Threshold: 4}), accounting.ErrFailedPrecondition)
		wantErr(t, reg.SetGovernance(ctx(t), accounting.GovernanceRule{Mode: accounting.GovernanceMembers}), accounting.ErrInvalidArgument)
		must(t, reg.SetGovernance(ctx(t), members))
		g, err = b3.Governance(ctx(t))
		must(t, err)
		if *g != members {
			t.Fatalf("governance %+v, want %+v", g, members)
		}
	})

	t.Run("RegulatorBypass", func(t *testing.T) {
		prices, err := b1.Prices(ctx(t))
		must(t, err)
		wantErr(t, reg.SetLimit(ctx(t), Bank1MSP, 1), accounting.ErrForbidden)
		wantErr(t, reg.SetPrice(ctx(t), s.category("gov"), 1), accounting.ErrForbidden)
		wantErr(t, reg.AddInstitution(ctx(t), "Gov"+s.tag+"MSP", "Puppet", []accounting.Role{accounting.RoleRequester}), accounting.ErrForbidden)
		wantErr(t, reg.SuspendInstitution(ctx(t), Bank3MSP), accounting.ErrForbidden)
		wantErr(t, reg.SetRoles(ctx(t), Bank3MSP, nil), accounting.ErrForbidden)
		wantErr(t, reg.SetQualityPolicy(ctx(t), *chaincode.DefaultQualityPolicy()), accounting.ErrForbidden)
		wantErr(t, reg.SetGovernance(ctx(t), accounting.GovernanceRule{Mode: accounting.GovernanceRegulator}), accounting.ErrForbidden)
		// A member holds no more power alone than the regulator.
		wantErr(t, b1.SetLimit(ctx(t), Bank1MSP, 1), accounting.ErrForbidden)
		after, err := b1.Prices(ctx(t))
		must(t, err)
		if _, ok := after.Base(s.category("gov"), accounting.ModeCatalog); ok || len(after.Prices) != len(prices.Prices) ||
			limit(t, Bank1MSP) != limits[Bank1MSP] {
			t.Fatalf("refused decisions changed the ledger: prices %v, limit %d", after, limit(t, Bank1MSP))
		}
		_, err = b1.Propose(ctx(t), chaincode.FnRollover, struct{}{}, 0)
		wantErr(t, err, accounting.ErrInvalidArgument)
		_, err = b1.Propose(ctx(t), chaincode.FnSetLimit, chaincode.SetLimitArgs{MSPID: Bank1MSP, Limit: 1}, chaincode.MaxProposalLifetime+1)
		wantErr(t, err, accounting.ErrInvalidArgument)
	})

	t.Run("Threshold", func(t *testing.T) {
		arg := chaincode.SetLimitArgs{MSPID: Bank3MSP, Limit: 111}
		p, err := b1.Propose(ctx(t), chaincode.FnSetLimit, arg, 1)
		must(t, err)
		want, err := accounting.ProposalDigest(chaincode.FnSetLimit, arg)
		must(t, err)
		if p.Proposer != Bank1MSP || p.Function != chaincode.FnSetLimit || string(p.Digest) != string(want[:]) {
			t.Fatalf("proposal %+v", p)
		}
		_, err = b1.Execute(ctx(t), p.ID)
		wantErr(t, err, accounting.ErrFailedPrecondition)
		must(t, b1.Approve(ctx(t), p.ID, want[:]))
		// The same member again, in another transaction.
		wantErr(t, b1.Approve(ctx(t), p.ID, want[:]), accounting.ErrConflict)
		wantErr(t, reg.Approve(ctx(t), p.ID, want[:]), accounting.ErrForbidden)
		_, err = b3.Execute(ctx(t), p.ID)
		wantErr(t, err, accounting.ErrFailedPrecondition)
		if limit(t, Bank3MSP) != limits[Bank3MSP] {
			t.Fatal("a proposal with one approval took effect")
		}
		view, err := b2.Proposal(ctx(t), p.ID)
		must(t, err)
		if len(view.Approvals) != 1 || view.Counted != 1 || view.Approvals[0].Voter != Bank1MSP {
			t.Fatalf("after a double vote: %+v", view)
		}
		must(t, b2.Approve(ctx(t), p.ID, want[:]))
		done, err := reg.Execute(ctx(t), p.ID)
		must(t, err)
		if done.ExecutedBy != RegulatorMSP || limit(t, Bank3MSP) != arg.Limit {
			t.Fatalf("executed %+v, limit %d", done, limit(t, Bank3MSP))
		}
		_, err = b3.Execute(ctx(t), p.ID)
		wantErr(t, err, accounting.ErrConflict)
		wantErr(t, b3.Approve(ctx(t), p.ID, want[:]), accounting.ErrConflict)
		found := false
		for q := (accounting.ProposalsQuery{Limit: 2}); !found; {
			page, err := b3.Proposals(ctx(t), q)
			must(t, err)
			for _, x := range page.Proposals {
				found = found || x.ID == p.ID && x.Executed()
			}
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
		if !found {
			t.Fatalf("Proposals misses executed %s", p.ID)
		}
	})

	t.Run("AlteredArgument", func(t *testing.T) {
		honest := chaincode.SetLimitArgs{MSPID: Bank3MSP, Limit: 222}
		p1, err := b1.Propose(ctx(t), chaincode.FnSetLimit, honest, 1)
		must(t, err)
		must(t, b2.Approve(ctx(t), p1.ID, p1.Digest))
		// Bank1 re-proposes with the limit it wanted all along; Bank2's
		// approval of what it reviewed names the honest argument.
		p2, err := b1.Propose(ctx(t), chaincode.FnSetLimit, chaincode.SetLimitArgs{MSPID: Bank3MSP, Limit: 1 << 40}, 1)
		must(t, err)
		wantErr(t, b2.Approve(ctx(t), p2.ID, p1.Digest), accounting.ErrConflict)
		must(t, b1.Approve(ctx(t), p2.ID, p2.Digest))
		_, err = b1.Execute(ctx(t), p2.ID)
		wantErr(t, err, accounting.ErrFailedPrecondition)
		if limit(t, Bank3MSP) == 1<<40 {
			t.Fatal("the altered argument took effect")
		}
		must(t, b3.Approve(ctx(t), p1.ID, p1.Digest))
		_, err = b3.Execute(ctx(t), p1.ID)
		must(t, err)
		if got := limit(t, Bank3MSP); got != honest.Limit {
			t.Fatalf("limit %d, want %d", got, honest.Limit)
		}
	})

	t.Run("SuspendedMember", func(t *testing.T) {
		q, err := b3.Propose(ctx(t), chaincode.FnSetLimit, chaincode.SetLimitArgs{MSPID: Bank1MSP, Limit: 333}, 1)
		must(t, err)
		must(t, b3.Approve(ctx(t), q.ID, q.Digest))
		pass(t, b1, b2, chaincode.FnSetStatus, chaincode.SetStatusArgs{MSPID: Bank3MSP, Status: accounting.StatusSuspended}, b1, b2)
		// Bank3's approval no longer counts, nor may it vote or propose.
		must(t, b1.Approve(ctx(t), q.ID, q.Digest))
		view, err := b1.Proposal(ctx(t), q.ID)
		must(t, err)
		if len(view.Approvals) != 2 || view.Counted != 1 {
			t.Fatalf("with a suspended voter: %+v", view)
		}
		_, err = b1.Execute(ctx(t), q.ID)
		wantErr(t, err, accounting.ErrFailedPrecondition)
		wantErr(t, b3.Approve(ctx(t), q.ID, q.Digest), accounting.ErrInactive)
		_, err = b3.Propose(ctx(t), chaincode.FnSetLimit, chaincode.SetLimitArgs{MSPID: Bank3MSP, Limit: 1}, 1)
		wantErr(t, err, accounting.ErrInactive)
		r, err := b1.Propose(ctx(t), chaincode.FnSetStatus, chaincode.SetStatusArgs{MSPID: Bank3MSP, Status: accounting.StatusActive}, 1)
		must(t, err)
		wantErr(t, b3.Approve(ctx(t), r.ID, r.Digest), accounting.ErrInactive)
		if limit(t, Bank1MSP) != limits[Bank1MSP] {
			t.Fatal("a suspended member's approval made a decision pass")
		}
		must(t, b2.Approve(ctx(t), q.ID, q.Digest))
		_, err = b2.Execute(ctx(t), q.ID)
		must(t, err)
		must(t, b1.Approve(ctx(t), r.ID, r.Digest))
		must(t, b2.Approve(ctx(t), r.ID, r.Digest))
		_, err = b1.Execute(ctx(t), r.ID)
		must(t, err)
		inst, err := b3.Institution(ctx(t), Bank3MSP)
		must(t, err)
		if inst.Status != accounting.StatusActive || limit(t, Bank1MSP) != 333 {
			t.Fatalf("Bank3 %s, Bank1 limit %d", inst.Status, limit(t, Bank1MSP))
		}
	})

	t.Run("Expired", func(t *testing.T) {
		e, err := b2.Propose(ctx(t), chaincode.FnSetLimit, chaincode.SetLimitArgs{MSPID: Bank2MSP, Limit: 444}, 0)
		must(t, err)
		must(t, b1.Approve(ctx(t), e.ID, e.Digest))
		// The period mechanics stay the regulator's under member
		// governance.
		cur, err := reg.Period(ctx(t), 0)
		must(t, err)
		if prev, err := reg.Period(ctx(t), cur.Number-1); err == nil && prev.State == accounting.PeriodGrace {
			must(t, reg.ForceClosePeriod(ctx(t), prev.Number))
		}
		next, err := reg.Rollover(ctx(t))
		must(t, err)
		if e.ExpiresAfter != cur.Number || next.Number != cur.Number+1 {
			t.Fatalf("proposal of period %d expires after %d; rolled over to %d", cur.Number, e.ExpiresAfter, next.Number)
		}
		wantErr(t, b2.Approve(ctx(t), e.ID, e.Digest), accounting.ErrPeriodClosed)
		_, err = b3.Execute(ctx(t), e.ID)
		wantErr(t, err, accounting.ErrPeriodClosed)
		if limit(t, Bank2MSP) != limits[Bank2MSP] {
			t.Fatal("an expired proposal took effect")
		}
	})

	t.Run("ThresholdChange", func(t *testing.T) {
		all := accounting.GovernanceRule{Mode: accounting.GovernanceMembers, Threshold: 3}
		pass(t, b3, b1, chaincode.FnSetGovernance, all, b1, b3)
		g, err := b2.Governance(ctx(t))
		must(t, err)
		if *g != all {
			t.Fatalf("governance %+v, want %+v", g, all)
		}
		// Two approvals no longer pass anything.
		p, err := b1.Propose(ctx(t), chaincode.FnSetLimit, chaincode.SetLimitArgs{MSPID: Bank2MSP, Limit: 555}, 1)
		must(t, err)
		must(t, b1.Approve(ctx(t), p.ID, p.Digest))
		must(t, b2.Approve(ctx(t), p.ID, p.Digest))
		_, err = b1.Execute(ctx(t), p.ID)
		wantErr(t, err, accounting.ErrFailedPrecondition)
		// A threshold no proposal could reach is refused at execution.
		four, err := b1.Propose(ctx(t), chaincode.FnSetGovernance, accounting.GovernanceRule{Mode: accounting.GovernanceMembers, Threshold: 4}, 1)
		must(t, err)
		for _, v := range []accounting.Ledger{b1, b2, b3} {
			must(t, v.Approve(ctx(t), four.ID, four.Digest))
		}
		_, err = b1.Execute(ctx(t), four.ID)
		wantErr(t, err, accounting.ErrFailedPrecondition)
		// Back to the regulator, by the rule in force.
		pass(t, reg, reg, chaincode.FnSetGovernance, accounting.GovernanceRule{Mode: accounting.GovernanceRegulator}, b1, b2, b3)
		g, err = b2.Governance(ctx(t))
		must(t, err)
		if g.Mode != accounting.GovernanceRegulator {
			t.Fatalf("governance %+v after returning it to the regulator", g)
		}
		_, err = b1.Execute(ctx(t), p.ID)
		wantErr(t, err, accounting.ErrFailedPrecondition)
		for msp, l := range limits {
			must(t, reg.SetLimit(ctx(t), msp, l))
		}
	})
}
