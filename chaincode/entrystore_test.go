package chaincode

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/internal/ecsig"
)

// bucketedState returns a state holding period 1 with bucketed entries,
// and a reference map: the entries it holds, one value per entry key. The
// entries cover several requesters and responders, bucket edges and
// sequence numbers far apart.
func bucketedState(t *testing.T) (*memState, map[string][]byte) {
	t.Helper()
	st := &memState{kv: map[string][]byte{periodKey(1): []byte(`{"number":1,"state":"open","entryBuckets":true}`)}}
	want := map[string][]byte{}
	es := newEntryState(st)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, req := range []string{"A", "AB", "B"} {
		for _, resp := range []string{"A", "C", "C2"} {
			for _, seq := range []uint64{0, 1, 30, 31, 32, 33, 63, 64, 65, 100, 1 << 40, 1<<64 - 1} {
				if rng.IntN(4) == 0 {
					continue
				}
				k := EntryKey{Period: 1, Requester: req, Responder: resp, Sequence: seq}.String()
				v := fmt.Appendf(nil, `{"key":%q}`, k)
				if err := es.Put(k, v); err != nil {
					t.Fatal(err)
				}
				want[k] = v
			}
		}
	}
	if err := es.flush(); err != nil {
		t.Fatal(err)
	}
	return st, want
}

// TestEntryStateReadsLikeOneKeyPerEntry compares every read of a bucketed
// period with what one key per entry gives: Get of each entry and of absent
// keys, and Range over every pair of bounds of the kinds the contract uses
// (keys, the key after a key, prefixes of a period, requester and
// responder, their range ends) and of bounds a foreign bookmark can make.
func TestEntryStateReadsLikeOneKeyPerEntry(t *testing.T) {
	st, want := bucketedState(t)
	for k := range st.kv {
		if strings.HasPrefix(k, prefixEntry) {
			t.Fatalf("entry key %s stored in a bucketed period", k)
		}
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	})
	bounds := []string{EntryPrefix(1), rangeEnd(EntryPrefix(1))}
	for _, k := range keys {
		i := strings.LastIndexByte(k, '/')
		j := strings.LastIndexByte(k[:i], '/')
		bounds = append(bounds, k, k+"\x00", k[:i+1], rangeEnd(k[:i+1]), k[:j+1], rangeEnd(k[:j+1]),
			k[:i+1]+"12", k[:i+1]+"99999999999999999999", k[:i+1]+"x", k+"/more", k[:i+1]+num(1<<40+31))
	}
	for _, k := range append(slices.Clone(keys), EntryKey{Period: 1, Requester: "A", Responder: "C", Sequence: 34}.String(),
		EntryKey{Period: 1, Requester: "Z", Responder: "C", Sequence: 1}.String()) {
		got, err := newEntryState(st).Get(k)
		if err != nil || !bytes.Equal(got, want[k]) {
			t.Fatalf("Get(%s) = %q, %v; want %q", k, got, err, want[k])
		}
	}
	// Every pair of a sample of the bounds: all pairs take minutes under -race.
	rng := rand.New(rand.NewPCG(3, 4))
	rng.Shuffle(len(bounds), func(i, j int) { bounds[i], bounds[j] = bounds[j], bounds[i] })
	bounds = bounds[:min(len(bounds), 120)]
	for _, start := range bounds {
		for _, end := range bounds {
			es := newEntryState(st)
			it, err := es.Range(start, end)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for {
				k, v, ok, err := it.Next()
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				if !bytes.Equal(v, want[k]) {
					t.Fatalf("Range(%q, %q) returned %s = %q, want %q", start, end, k, v, want[k])
				}
				got = append(got, k)
			}
			var exp []string
			for _, k := range keys {
				if start <= k && k < end {
					exp = append(exp, k)
				}
			}
			if !slices.Equal(got, exp) {
				t.Fatalf("Range(%q, %q) = %v, want %v", start, end, got, exp)
			}
			if err := it.Close(); err != nil {
				t.Fatal(err)
			}
			// After the range, reads inside and outside it (which take
			// what the range left cached or known absent) still agree.
			for _, k := range []string{start, keys[rng.IntN(len(keys))], keys[rng.IntN(len(keys))]} {
				got, err := es.Get(k)
				if err != nil || !bytes.Equal(got, want[k]) {
					t.Fatalf("after Range(%q, %q): Get(%s) = %q, %v; want %q", start, end, k, got, err, want[k])
				}
			}
		}
	}
}

// responderB returns a contract over a seeded state with A's and B's
// signing keys registered and B, a provider, as the caller.
func responderB(t testing.TB) (*Contract, *memState, map[string]ecsig.Sign) {
	t.Helper()
	c, err := New("Reg")
	if err != nil {
		t.Fatal(err)
	}
	st := seeded(t, c)
	sign := signers(t, c, st, "A", "B")
	st.caller = "B"
	return c, st, sign
}

// TestRecordWritesABucketNotAnEntry records 500 consecutive entries and
// counts what the host saw: one write per bucket and the spent key, no
// entry key, and a few reads; then records the next 20, which rewrite the
// last, partly filled, bucket with the earlier entries kept.
func TestRecordWritesABucketNotAnEntry(t *testing.T) {
	c, st, sign := responderB(t)
	batch := func(from, to uint64) []Entry {
		var b []Entry
		for seq := from; seq <= to; seq++ {
			b = append(b, signedEntry(t, sign, "A", seq, 0))
		}
		return b
	}
	cs := &countingState{memState: st}
	for i, o := range record(t, c, cs, batch(1, 500)) {
		if o.Status != OutcomeRecorded {
			t.Fatalf("entry %d: %+v", i, o)
		}
	}
	var buckets []string
	for _, k := range cs.puts {
		switch {
		case strings.HasPrefix(k, prefixBucket):
			buckets = append(buckets, k)
		case k != spentKey(1, "A", "B"):
			t.Fatalf("Record wrote %s", k)
		}
	}
	if len(buckets) != 500/entryBucketSize+1 || !slices.IsSorted(buckets) {
		t.Fatalf("Record wrote %d buckets (%v), want %d in key order", len(buckets), buckets, 500/entryBucketSize+1)
	}
	if cs.gets+cs.ranges > 8 {
		t.Fatalf("Record made %d reads and %d range reads for one run", cs.gets, cs.ranges)
	}
	if n := cs.keyGets[periodKey(1)]; n != 1 {
		t.Fatalf("Record read its period %d times, want once", n)
	}

	record(t, c, st, batch(501, 520))
	for _, seq := range []uint64{480, 500, 501, 520} {
		var e RecordedEntry
		if err := invokeRaw(t, c, st, "A", FnGetEntry, fmt.Sprintf(`{"period":1,"requester":"A","responder":"B","sequence":%d}`, seq), &e); err != nil {
			t.Fatal(seq, err)
		}
		if e.Key.Sequence != seq || e.Amount != 10 {
			t.Fatalf("entry %d reads back as %+v", seq, e.Key)
		}
	}
}

// TestAdversaryResubmitsIntoSharedBuckets plays a responder that sends
// again, in later batches, entries whose buckets it shares with new ones:
// an entry already recorded (duplicate), an altered copy of one (conflict,
// the stored entry kept), an entry twice in one batch with different
// content, and new entries in a partly filled bucket. Each entry is
// stored once and settlement counts each exactly once.
func TestAdversaryResubmitsIntoSharedBuckets(t *testing.T) {
	c, st, sign := responderB(t)
	var first []Entry
	for seq := uint64(1); seq <= 40; seq++ {
		first = append(first, signedEntry(t, sign, "A", seq, 0))
	}
	record(t, c, st, first)
	second := []Entry{
		signedEntry(t, sign, "A", 20, 0), // recorded: duplicate
		signedEntry(t, sign, "A", 33, 1), // recorded, altered: conflict
		signedEntry(t, sign, "A", 41, 0),
		signedEntry(t, sign, "A", 50, 0),
		signedEntry(t, sign, "A", 50, 1), // altered in the same batch: conflict
		signedEntry(t, sign, "A", 64, 0),
	}
	want := []struct {
		status OutcomeStatus
		code   Code
	}{{OutcomeDuplicate, ""}, {OutcomeRejected, CodeConflict}, {OutcomeRecorded, ""}, {OutcomeRecorded, ""},
		{OutcomeRejected, CodeConflict}, {OutcomeRecorded, ""}}
	for i, o := range record(t, c, st, second) {
		if o.Status != want[i].status || o.Code != want[i].code {
			t.Fatalf("entry %d: %+v, want %s %s", i, o, want[i].status, want[i].code)
		}
	}
	for seq, e := range map[uint64]Entry{20: first[19], 33: first[32], 50: second[3]} {
		var got RecordedEntry
		if err := invokeRaw(t, c, st, "A", FnGetEntry, fmt.Sprintf(`{"period":1,"requester":"A","responder":"B","sequence":%d}`, seq), &got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.ResponseHash, e.ResponseHash) {
			t.Fatalf("entry %d was replaced", seq)
		}
	}
	var page EntriesPage
	if err := invokeRaw(t, c, st, "A", FnListEntries, `{"period":1,"party":"A","pageSize":1000}`, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 43 {
		t.Fatalf("%d entries listed, want 43", len(page.Entries))
	}
	for _, call := range []struct{ fn, arg string }{
		{FnRollover, `{}`}, {FnClosePeriod, `{"period":1,"force":true}`}, {FnSettle, `{"period":1,"maxEntries":7}`},
	} {
		if err := invokeRaw(t, c, st, "Reg", call.fn, call.arg, nil); err != nil {
			t.Fatal(call.fn, err)
		}
	}
	for {
		var res SettleResult
		if err := invokeRaw(t, c, st, "Reg", FnSettle, `{"period":1,"maxEntries":7}`, &res); err != nil {
			t.Fatal(err)
		}
		if res.Done {
			break
		}
	}
	var p Period
	if err := invokeRaw(t, c, st, "Reg", FnGetPeriod, `{"period":1}`, &p); err != nil {
		t.Fatal(err)
	}
	if p.Entries != 43 || p.Net["A"] != -430 || p.Net["B"] != 430 {
		t.Fatalf("settled %d entries, net %v; want 43 entries, A -430, B +430", p.Entries, p.Net)
	}
}

// TestEntryStateKeepsLegacyPeriods checks that a period opened before
// buckets keeps one key per entry, and that Rollover opens bucketed ones.
func TestEntryStateKeepsLegacyPeriods(t *testing.T) {
	st := &memState{kv: map[string][]byte{periodKey(1): []byte(`{"number":1,"state":"open"}`)}}
	es := newEntryState(st)
	k := EntryKey{Period: 1, Requester: "A", Responder: "B", Sequence: 7}.String()
	if err := es.Put(k, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := es.flush(); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.kv[k]; !ok || len(st.kv) != 2 {
		t.Fatalf("legacy period state %v", st.kv)
	}
	c, err := New("Reg")
	if err != nil {
		t.Fatal(err)
	}
	var p Period
	if err := invokeRaw(t, c, seeded(t, c), "Reg", FnGetPeriod, `{"period":1}`, &p); err != nil || !p.EntryBuckets {
		t.Fatalf("a new period %+v, %v: want bucketed", p, err)
	}
}

// FuzzDecodeBucket insists that decodeBucket accepts exactly the
// encodings encode writes for the key: whatever it accepts encodes back
// to the same bytes, with every sequence number in the key's bucket.
func FuzzDecodeBucket(f *testing.F) {
	b := &bucket{seqs: []uint64{64, 65, 95}, values: [][]byte{[]byte(`{"a":1}`), []byte("x"), bytes.Repeat([]byte("y"), 200)}}
	f.Add(uint64(2), b.encode())
	f.Add(uint64(2), []byte{bucketVersion, 64, 0})
	f.Add(uint64(0), []byte{bucketVersion, 0x80, 0x00, 1, 'a'})
	f.Fuzz(func(t *testing.T, index uint64, raw []byte) {
		key := prefixBucket + num(1) + "/A/B/" + num(index)
		got, err := decodeBucket(key, raw)
		if err != nil {
			return
		}
		if !bytes.Equal(got.encode(), raw) {
			t.Fatalf("decoded %x, encodes to %x", raw, got.encode())
		}
		for _, s := range got.seqs {
			if s/entryBucketSize != index {
				t.Fatalf("sequence %d in bucket %d", s, index)
			}
		}
	})
}
