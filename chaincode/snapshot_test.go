package chaincode

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// invokeRaw runs fn as caller with the JSON argument arg and decodes its result into out (if any).
func invokeRaw(t *testing.T, c *Contract, st *memState, caller, fn, arg string, out any) error {
	t.Helper()
	st.caller = caller
	res, err := c.Invoke(st, fn, []byte(arg))
	if err == nil && out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			t.Fatal(err)
		}
	}
	return err
}

// paymentsArg returns the RecordPayments argument that records the digest
// of s's payment instructions.
func paymentsArg(t *testing.T, s *Snapshot) string {
	t.Helper()
	csv, err := PaymentsCSV(s)
	if err != nil {
		t.Fatal(err)
	}
	d := PaymentsDigest(csv)
	arg, err := json.Marshal(PaymentsArgs{Snapshot: s.Period, Digest: d[:]})
	if err != nil {
		t.Fatal(err)
	}
	return string(arg)
}

// settledPeriods returns a state whose periods 1..n are settled (without
// entries) and period n+1 is open.
func settledPeriods(t *testing.T, c *Contract, n uint64) *memState {
	t.Helper()
	st := seeded(t, c)
	for p := uint64(1); p <= n; p++ {
		for _, call := range []struct{ fn, arg string }{
			{FnRollover, `{}`},
			{FnClosePeriod, fmt.Sprintf(`{"period":%d,"force":true}`, p)},
			{FnSettle, fmt.Sprintf(`{"period":%d}`, p)},
		} {
			if err := invokeRaw(t, c, st, "Reg", call.fn, call.arg, nil); err != nil {
				t.Fatal(call.fn, err)
			}
		}
	}
	return st
}

// TestSnapshotStoredBeforeRanges reads, pays and records the payments of
// a snapshot stored before snapshots covered ranges (no Through, its
// period naming no snapshot), and takes the next snapshot after it.
func TestSnapshotStoredBeforeRanges(t *testing.T) {
	c, err := New("Reg")
	if err != nil {
		t.Fatal(err)
	}
	st := settledPeriods(t, c, 3)
	if err := invokeRaw(t, c, st, "Reg", FnSnapshot, `{"period":1}`, nil); err != nil {
		t.Fatal(err)
	}
	// Rewrite period 1 and its snapshot as the earlier contract stored them.
	var p map[string]any
	if err := json.Unmarshal(st.kv[periodKey(1)], &p); err != nil {
		t.Fatal(err)
	}
	delete(p, "snapshot")
	st.kv[periodKey(1)], _ = json.Marshal(p)
	st.kv[snapshotKey(1)] = []byte(`{"period":1,"balances":{"A":-5,"B":5},"txId":"old","flagged":["A"]}`)
	st.kv[debtKey("A")] = []byte(`[1]`)

	var got Snapshot
	if err := invokeRaw(t, c, st, "A", FnGetSnapshot, `{"period":1}`, &got); err != nil {
		t.Fatal(err)
	}
	if got.Period != 1 || got.Through != 1 || got.Balances["A"] != -5 {
		t.Fatalf("old snapshot read as %+v", got)
	}
	if csv, err := PaymentsCSV(&got); err != nil || string(csv) != PaymentsHeader+"1,1,A,B,5\n" {
		t.Fatalf("csv %q, %v", csv, err)
	}
	if err := invokeRaw(t, c, st, "Reg", FnRecordPayments, paymentsArg(t, &got), nil); err != nil {
		t.Fatal(err)
	}
	var paid Snapshot
	if err := invokeRaw(t, c, st, "Reg", FnMarkPaid, `{"period":1}`, &paid); err != nil {
		t.Fatal(err)
	}
	if string(st.kv[debtKey("A")]) != "[]" || paid.PaidTxID == "" || paid.Through != 1 {
		t.Fatalf("after paying the old snapshot: debt %s, snapshot %+v", st.kv[debtKey("A")], paid)
	}
	var next Snapshot
	if err := invokeRaw(t, c, st, "Reg", FnSnapshot, `{"period":2,"through":3}`, &next); err != nil {
		t.Fatal(err)
	}
	if next.Period != 2 || next.Through != 3 {
		t.Fatalf("snapshot after the old one: %+v", next)
	}
}

// TestRecordPaymentsKeepsTheFirstDigest plays an export whose bytes
// changed after the digest was recorded (a later release writing another
// layout): the contract refuses to record the new file's digest.
func TestRecordPaymentsKeepsTheFirstDigest(t *testing.T) {
	c, err := New("Reg")
	if err != nil {
		t.Fatal(err)
	}
	st := settledPeriods(t, c, 1)
	var snap Snapshot
	if err := invokeRaw(t, c, st, "Reg", FnSnapshot, `{"period":1}`, &snap); err != nil {
		t.Fatal(err)
	}
	arg := paymentsArg(t, &snap)
	if err := invokeRaw(t, c, st, "Reg", FnRecordPayments, arg, nil); err != nil {
		t.Fatal(err)
	}
	// The digest an earlier layout recorded.
	var stored Snapshot
	if err := json.Unmarshal(st.kv[snapshotKey(1)], &stored); err != nil {
		t.Fatal(err)
	}
	earlier := PaymentsDigest([]byte("payer,payee,amount\n"))
	stored.Payments = earlier[:]
	st.kv[snapshotKey(1)], _ = json.Marshal(&stored)
	if err := invokeRaw(t, c, st, "Reg", FnRecordPayments, arg, nil); CodeOf(err) != CodeConflict {
		t.Fatalf("a second, different digest: %v", err)
	}
}

// TestSnapshotRangeRefusals checks each refusal of a snapshot's range and
// that a refused snapshot writes nothing.
func TestSnapshotRangeRefusals(t *testing.T) {
	c, err := New("Reg")
	if err != nil {
		t.Fatal(err)
	}
	st := settledPeriods(t, c, 3)
	if err := invokeRaw(t, c, st, "Reg", FnRollover, `{}`, nil); err != nil { // 4 in grace
		t.Fatal(err)
	}
	tests := []struct {
		name, caller, arg string
		code              Code
	}{
		{"NotRegulator", "A", `{"period":1,"through":3}`, CodeForbidden},
		{"PeriodZero", "Reg", `{"period":0,"through":3}`, CodeInvalidArgument},
		{"Reversed", "Reg", `{"period":3,"through":1}`, CodeInvalidArgument},
		{"TooLong", "Reg", fmt.Sprintf(`{"period":1,"through":%d}`, 1+MaxSnapshotPeriods), CodeInvalidArgument},
		{"WrapsAround", "Reg", `{"period":1,"through":18446744073709551615}`, CodeInvalidArgument},
		{"Gap", "Reg", `{"period":2,"through":3}`, CodeFailedPrecondition},
		{"Unsettled", "Reg", `{"period":1,"through":4}`, CodeFailedPrecondition},
		{"Missing", "Reg", `{"period":9,"through":10}`, CodeNotFound},
		{"UnknownField", "Reg", `{"period":1,"last":3}`, CodeInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := stateLines(st)
			if err := invokeRaw(t, c, st, tc.caller, FnSnapshot, tc.arg, nil); CodeOf(err) != tc.code {
				t.Fatalf("error %v, want %s", err, tc.code)
			}
			if after := stateLines(st); !slices.Equal(before, after) {
				t.Fatal("a refused snapshot wrote state")
			}
		})
	}
	if err := invokeRaw(t, c, st, "Reg", FnSnapshot, `{"period":1,"through":2}`, nil); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{`{"period":2}`, `{"period":2,"through":3}`, `{"period":1,"through":3}`} {
		if err := invokeRaw(t, c, st, "Reg", FnSnapshot, arg, nil); CodeOf(err) != CodeFailedPrecondition {
			t.Fatalf("overlapping snapshot %s: %v", arg, err)
		}
	}
	if err := invokeRaw(t, c, st, "Reg", FnSnapshot, `{"period":3}`, nil); err != nil {
		t.Fatal(err)
	}
}

// stateLines lists the state as key=value strings, sorted, to compare states.
func stateLines(st *memState) []string {
	out := make([]string, 0, len(st.kv))
	for k, v := range st.kv {
		out = append(out, k+"="+string(v))
	}
	slices.Sort(out)
	return out
}
