package chaincode

import (
	"bytes"
	"encoding/json"
	"testing"
)

// invokeAs calls fn as msp with arg encoded as JSON.
func invokeAs(t *testing.T, c *Contract, st *memState, msp, fn string, arg any) error {
	t.Helper()
	b, err := json.Marshal(arg)
	if err != nil {
		t.Fatal(err)
	}
	st.caller = msp
	_, err = c.Invoke(st, fn, b)
	return err
}

// TestAdversaryRotatedAwayCredentialStaysWithItsOwner: B registers the
// fingerprint and OPRF key A has rotated away from. An owner entry is never
// released, so whatever A presented or signed under them cannot be
// attributed to B.
func TestAdversaryRotatedAwayCredentialStaysWithItsOwner(t *testing.T) {
	c, err := New("Reg")
	if err != nil {
		t.Fatal(err)
	}
	st := seeded(t, c)
	old, next := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	for _, p := range [][]byte{old, next} {
		if err := invokeAs(t, c, st, "A", FnUpdateProfile, Profile{TLSFingerprint: p}); err != nil {
			t.Fatal(err)
		}
		if err := invokeAs(t, c, st, "A", FnSetOPRFKey, OPRFKeyArgs{Category: "black", Key: p}); err != nil {
			t.Fatal(err)
		}
	}
	if err := invokeAs(t, c, st, "B", FnUpdateProfile, Profile{TLSFingerprint: old}); CodeOf(err) != CodeConflict {
		t.Fatalf("B registers A's old fingerprint: %v, want %s", err, CodeConflict)
	}
	if err := invokeAs(t, c, st, "B", FnSetOPRFKey, OPRFKeyArgs{Category: "grey", Key: old}); CodeOf(err) != CodeConflict {
		t.Fatalf("B registers A's old OPRF key: %v, want %s", err, CodeConflict)
	}
	// A may go back to its own old credentials.
	if err := invokeAs(t, c, st, "A", FnUpdateProfile, Profile{TLSFingerprint: old}); err != nil {
		t.Fatalf("A returns to its own old fingerprint: %v", err)
	}
}

// TestLegacyRecordsAreClaimedOnTheirNextWrite plays a ledger from before
// the owner index, where B already holds A's fingerprint: the regulator's
// SetRoles on A claims A's credentials (and its SetStatus on B is not
// blocked by B's squat), after which B can no longer write its record
// until it registers a fingerprint of its own.
func TestLegacyRecordsAreClaimedOnTheirNextWrite(t *testing.T) {
	c, err := New("Reg")
	if err != nil {
		t.Fatal(err)
	}
	st := seeded(t, c)
	fp := bytes.Repeat([]byte{9}, 32)
	for _, msp := range []string{"A", "B"} { // written as the old contract did: no owner entry
		inst, err := loadInstitution(st, msp)
		if err != nil {
			t.Fatal(err)
		}
		inst.TLSFingerprint = fp
		if err := putJSON(st, instKey(msp), inst); err != nil {
			t.Fatal(err)
		}
	}
	if err := invokeAs(t, c, st, "Reg", FnSetRoles, SetRolesArgs{MSPID: "A", Roles: []Role{RoleRequester, RoleProvider}}); err != nil {
		t.Fatal(err)
	}
	if err := invokeAs(t, c, st, "Reg", FnSetStatus, SetStatusArgs{MSPID: "B", Status: StatusSuspended}); err != nil {
		t.Fatalf("suspending the squatter: %v", err)
	}
	if err := invokeAs(t, c, st, "Reg", FnSetStatus, SetStatusArgs{MSPID: "B", Status: StatusActive}); err != nil {
		t.Fatal(err)
	}
	if err := invokeAs(t, c, st, "B", FnUpdateProfile, Profile{Endpoint: "b.example:7443"}); CodeOf(err) != CodeConflict {
		t.Fatalf("squatter's update keeping A's fingerprint: %v, want %s", err, CodeConflict)
	}
	if err := invokeAs(t, c, st, "B", FnUpdateProfile, Profile{TLSFingerprint: bytes.Repeat([]byte{8}, 32)}); err != nil {
		t.Fatalf("squatter moving to a fingerprint of its own: %v", err)
	}
	if err := invokeAs(t, c, st, "A", FnUpdateProfile, Profile{Endpoint: "a.example:7443"}); err != nil {
		t.Fatalf("owner's update: %v", err)
	}
}
