package chaincode

import (
	"fmt"
	"slices"
)

// An institution's standing: what suspension and role changes mean for the
// entries that name it. The registry record keeps when each change
// happened (the period current then), because the ledger must still bill
// the answers given before it.

// billableIn reports, as a CodeInactive error, whether an entry of period
// may not name inst in role. An active institution holding the role may be
// billed in any period; one suspended, or stripped of the role, still in
// the period that was current when that happened and earlier: an answer
// given while it was active stays payable (and a provider's bill for it
// stays valid), while a request of a later period was made after the
// change, which every provider had a whole period to see. The requester
// signed every entry's request itself, so a provider cannot invent one.
func (inst *Institution) billableIn(role Role, period uint64) error {
	if inst.Status != StatusActive && period > inst.SuspendedIn {
		return newError(CodeInactive, fmt.Sprintf("institution %s was suspended in period %d, before period %d", inst.MSPID, inst.SuspendedIn, period))
	}
	if !inst.HasRole(role) {
		removed, ok := inst.RolesRemovedIn[role]
		if !ok || period > removed {
			return newError(CodeInactive, fmt.Sprintf("institution %s lacks the %s role in period %d", inst.MSPID, role, period))
		}
	}
	return nil
}

// setStatus changes inst's status, keeping the period a suspension took
// effect in. Suspending an institution that is suspended already keeps
// the earlier period.
func (inst *Institution) setStatus(st State, status Status) error {
	if status == inst.Status {
		return nil
	}
	inst.Status, inst.SuspendedIn = status, 0
	if status == StatusActive {
		return nil
	}
	cur, err := currentPeriod(st)
	inst.SuspendedIn = cur
	return err
}

// setRoles replaces inst's roles, keeping the period each dropped role was
// removed in; a role given back forgets its removal.
func (inst *Institution) setRoles(st State, roles []Role) error {
	cur, err := currentPeriod(st)
	if err != nil {
		return err
	}
	for _, r := range inst.Roles {
		if !slices.Contains(roles, r) {
			if inst.RolesRemovedIn == nil {
				inst.RolesRemovedIn = map[Role]uint64{}
			}
			inst.RolesRemovedIn[r] = cur
		}
	}
	for _, r := range roles {
		delete(inst.RolesRemovedIn, r)
	}
	if len(inst.RolesRemovedIn) == 0 {
		inst.RolesRemovedIn = nil
	}
	inst.Roles = roles
	return nil
}
