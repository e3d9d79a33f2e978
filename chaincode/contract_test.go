package chaincode

import (
	"errors"
	"slices"
	"sort"
	"testing"
)

// memState is an in-memory State with read-your-writes, for unit tests.
type memState struct {
	kv     map[string][]byte
	caller string
}

func (s *memState) Get(k string) ([]byte, error) { return s.kv[k], nil }
func (s *memState) Put(k string, v []byte) error { s.kv[k] = v; return nil }
func (s *memState) Caller() (string, error)      { return s.caller, nil }
func (s *memState) TxID() string                 { return "tx" }
func (s *memState) SetEvent(string, []byte) error {
	return nil
}

func (s *memState) Range(start, end string) (Iterator, error) {
	var keys []string
	for k := range s.kv {
		if k >= start && k < end {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return &memIterator{s: s, keys: keys}, nil
}

type memIterator struct {
	s    *memState
	keys []string
}

func (it *memIterator) Next() (string, []byte, bool, error) {
	if len(it.keys) == 0 {
		return "", nil, false, nil
	}
	k := it.keys[0]
	it.keys = it.keys[1:]
	return k, it.s.kv[k], true, nil
}
func (it *memIterator) Close() error { return nil }

// seeded returns a state with two institutions, a price and an open period.
func seeded(t testing.TB, c *Contract) *memState {
	t.Helper()
	st := &memState{kv: map[string][]byte{}, caller: "Reg"}
	for _, call := range []struct{ fn, arg string }{
		{FnAddInstitution, `{"mspId":"A","name":"a","roles":["requester","provider"]}`},
		{FnAddInstitution, `{"mspId":"B","name":"b","roles":["provider","auditor"]}`},
		{FnSetPrice, `{"category":"black","price":2}`},
		{FnRollover, `{}`},
	} {
		if _, err := c.Invoke(st, call.fn, []byte(call.arg)); err != nil {
			t.Fatal(call.fn, err)
		}
	}
	return st
}

func TestInvokeRejectsUnknownAndOversized(t *testing.T) {
	c, err := New("Reg")
	if err != nil {
		t.Fatal(err)
	}
	st := seeded(t, c)
	tests := []struct {
		name, fn string
		arg      []byte
		code     Code
	}{
		{"UnknownFunction", "Drop", []byte(`{}`), CodeInvalidArgument},
		{"Oversized", FnRecord, make([]byte, MaxArgSize+1), CodeInvalidArgument},
		{"UnknownField", FnSetPrice, []byte(`{"category":"x","price":1,"extra":1}`), CodeInvalidArgument},
		{"TrailingData", FnSetPrice, []byte(`{"category":"x","price":1} {}`), CodeInvalidArgument},
		{"FloatPrice", FnSetPrice, []byte(`{"category":"x","price":1.5}`), CodeInvalidArgument},
		{"RegulatorOnly", FnSetPrice, []byte(`{"category":"x","price":1}`), CodeForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &memState{kv: st.kv, caller: "Reg"}
			if tc.code == CodeForbidden {
				s.caller = "A"
			}
			before := len(st.kv)
			_, err := c.Invoke(s, tc.fn, tc.arg)
			if CodeOf(err) != tc.code {
				t.Fatalf("error %v, want %s", err, tc.code)
			}
			if len(st.kv) != before {
				t.Fatal("a rejected call wrote state")
			}
		})
	}
}

func TestAmountOverflow(t *testing.T) {
	if _, err := amountFor(1<<62, 4); CodeOf(err) != CodeInvalidArgument {
		t.Fatalf("overflowing amount: %v", err)
	}
	if a, err := amountFor(3, 65535); err != nil || a != 196605 {
		t.Fatalf("amount %d, %v", a, err)
	}
	if _, err := addTokens(1<<62, 1<<62); err == nil {
		t.Fatal("balance overflow not detected")
	}
	if _, err := subTokens(-(1 << 62), 1<<62+1); err == nil {
		t.Fatal("balance underflow not detected")
	}
}

// FuzzInvoke feeds arbitrary arguments to every function as a registered
// institution and as the regulator: no panic, and every error is an *Error.
func FuzzInvoke(f *testing.F) {
	c, err := New("Reg")
	if err != nil {
		f.Fatal(err)
	}
	fns := Functions()
	f.Add(uint8(0), false, []byte(`{}`))
	f.Add(uint8(1), true, []byte(`[{"header":"AQE=","amount":1}]`))
	f.Add(uint8(2), false, []byte(`{"period":1,"party":"A","bookmark":"entry/"}`))
	f.Add(uint8(3), true, []byte(`{"key":{"period":1,"requester":"A","responder":"B","sequence":1},"auditor":"B","verdict":1,"signature":"MEQ="}`))
	f.Add(uint8(4), true, []byte(`{"period":1,"maxEntries":-1}`))
	f.Add(uint8(slices.Index(fns, FnListEntries)), false,
		[]byte(`{"period":1,"party":"B","asResponder":true,"bookmark":"entry/00000000000000000001/A/B/00000000000000000001"}`))
	f.Add(uint8(slices.Index(fns, FnReportOutcomes)), false,
		[]byte(`[{"key":{"period":1,"requester":"A","responder":"B","sequence":1},"confirmed":1,"wrong":4294967295}]`))
	f.Add(uint8(slices.Index(fns, FnListQuality)), false, []byte(`{"period":1,"provider":"B","window":12}`))
	f.Add(uint8(slices.Index(fns, FnSetQualityPolicy)), true, []byte(`{"minRequesters":3,"window":1,"tiers":[{"minConfirmation":0,"multiplier":100000}]}`))
	f.Fuzz(func(t *testing.T, fn uint8, asRegulator bool, arg []byte) {
		st := seeded(t, c)
		st.caller = "A"
		if asRegulator {
			st.caller = "Reg"
		}
		_, err := c.Invoke(st, fns[int(fn)%len(fns)], arg)
		var ce *Error
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("error %v is not an *Error", err)
		}
		if ce != nil && ce.Code == CodeInternal {
			t.Fatalf("internal error on input %q: %v", arg, err)
		}
	})
}
