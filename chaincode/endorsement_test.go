package chaincode

import (
	"encoding/hex"
	"testing"
)

func TestEndorsementDigest(t *testing.T) {
	key := EntryKey{Period: 7, Requester: "Bank1MSP", Responder: "Bank2MSP", Sequence: 42}
	// Computed independently (Python hashlib over the documented layout); an
	// auditor implementation elsewhere must produce
	// exactly these bytes.
	const want = "eaa80b41ccc2ea0c881b86631e0a27566b9d3e0e8503fe4c0e500c25723b1ba9"
	d, err := EndorsementDigest(key, VerdictUpheld)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(d[:]); got != want {
		t.Fatalf("digest %s, want %s", got, want)
	}
	variants := []struct {
		name string
		k    EntryKey
		v    Verdict
	}{
		{"Verdict", key, VerdictRejected},
		{"Period", EntryKey{8, key.Requester, key.Responder, key.Sequence}, VerdictUpheld},
		{"Sequence", EntryKey{key.Period, key.Requester, key.Responder, 43}, VerdictUpheld},
		{"SwappedParties", EntryKey{key.Period, key.Responder, key.Requester, key.Sequence}, VerdictUpheld},
		{"ShiftedBoundary", EntryKey{key.Period, "Bank1MSPB", "ank2MSP", key.Sequence}, VerdictUpheld},
	}
	for _, tc := range variants {
		t.Run(tc.name, func(t *testing.T) {
			o, err := EndorsementDigest(tc.k, tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if o == d {
				t.Fatal("different inputs give the same digest")
			}
		})
	}
	for _, bad := range []struct {
		name string
		k    EntryKey
		v    Verdict
	}{
		{"UnknownVerdict", key, 3},
		{"ZeroPeriod", EntryKey{0, key.Requester, key.Responder, 1}, VerdictUpheld},
		{"SameParty", EntryKey{1, "A", "A", 1}, VerdictUpheld},
		{"BadParty", EntryKey{1, "A/B", "C", 1}, VerdictUpheld},
	} {
		t.Run(bad.name, func(t *testing.T) {
			if _, err := EndorsementDigest(bad.k, bad.v); CodeOf(err) != CodeInvalidArgument {
				t.Fatalf("error %v, want invalid_argument", err)
			}
		})
	}
}
