package chaincode

import "testing"

// TestSigningKeyHistoryIsBounded rotates one institution's signing key past
// MaxPastSigningKeys: refused while the oldest replaced key's last period
// can still be reversed in, allowed (dropping that key) once it is
// snapshotted.
func TestSigningKeyHistoryIsBounded(t *testing.T) {
	c, err := New("Reg")
	if err != nil {
		t.Fatal(err)
	}
	st := seeded(t, c) // period 1 open
	rotate := func() error {
		t.Helper()
		_, err := registerSigningKey(t, c, st, "A")
		return err
	}
	past := func() []KeyVersion {
		t.Helper()
		inst, err := loadInstitution(st, "A")
		if err != nil {
			t.Fatal(err)
		}
		return inst.PastSigningKeys
	}
	for range MaxPastSigningKeys + 1 { // the first registers, the others replace
		if err := rotate(); err != nil {
			t.Fatal(err)
		}
	}
	full := past()
	if len(full) != MaxPastSigningKeys {
		t.Fatalf("%d replaced keys kept, want %d", len(full), MaxPastSigningKeys)
	}
	if err := rotate(); CodeOf(err) != CodeFailedPrecondition {
		t.Fatalf("rotation past the bound before a snapshot: %v, want %s", err, CodeFailedPrecondition)
	}
	st.caller = "Reg"
	for _, call := range []struct{ fn, arg string }{
		{FnRollover, `{}`},
		{FnClosePeriod, `{"period":1}`},
		{FnSettle, `{"period":1}`},
		{FnSnapshot, `{"period":1}`},
	} {
		if _, err := c.Invoke(st, call.fn, []byte(call.arg)); err != nil {
			t.Fatal(call.fn, err)
		}
	}
	if err := rotate(); err != nil {
		t.Fatalf("rotation after the snapshot: %v", err)
	}
	after := past()
	if len(after) != MaxPastSigningKeys || string(after[0].Key) != string(full[1].Key) {
		t.Fatal("the oldest replaced key was not the one dropped")
	}
	if last := after[len(after)-1]; last.Until != 2 {
		t.Fatalf("key replaced in period 2 valid until %d", last.Until)
	}
}
