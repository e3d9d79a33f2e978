package chaincode

import "testing"

// TestBillableIn is the rule of docs/ledger.md, "Suspension and role
// removal": an institution suspended, or stripped of a role, in period 5
// can still be billed for periods up to 5, not after.
func TestBillableIn(t *testing.T) {
	active := Institution{MSPID: "A", Status: StatusActive, Roles: []Role{RoleRequester}}
	suspended := Institution{MSPID: "A", Status: StatusSuspended, SuspendedIn: 5, Roles: []Role{RoleRequester}}
	removed := Institution{MSPID: "A", Status: StatusActive, RolesRemovedIn: map[Role]uint64{RoleRequester: 5}}
	suspendedBeforeAny := Institution{MSPID: "A", Status: StatusSuspended, Roles: []Role{RoleRequester}}
	for _, tt := range []struct {
		name   string
		inst   Institution
		role   Role
		period uint64
		ok     bool
	}{
		{"active", active, RoleRequester, 9, true},
		{"active without the role", active, RoleProvider, 1, false},
		{"suspended, earlier period", suspended, RoleRequester, 4, true},
		{"suspended, its period", suspended, RoleRequester, 5, true},
		{"suspended, later period", suspended, RoleRequester, 6, false},
		{"suspended before any period", suspendedBeforeAny, RoleRequester, 1, false},
		{"role removed, its period", removed, RoleRequester, 5, true},
		{"role removed, later period", removed, RoleRequester, 6, false},
		{"role never held", removed, RoleProvider, 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.inst.billableIn(tt.role, tt.period)
			if (err == nil) != tt.ok || (err != nil && CodeOf(err) != CodeInactive) {
				t.Fatalf("billableIn(%s, %d) = %v, want ok=%v", tt.role, tt.period, err, tt.ok)
			}
		})
	}
}
