package chaincode

import (
	"crypto/rand"
	"encoding/json"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// countingState counts the reads of entry keys (one Get each, or one Range
// per run) and remembers where each range started.
type countingState struct {
	*memState
	// gets counts every Get, entryGets those of entry keys and buckets.
	gets, entryGets, ranges int
	starts, puts            []string
	// keyGets counts the Gets of each key.
	keyGets map[string]int
}

func (s *countingState) Get(k string) ([]byte, error) {
	s.gets++
	if s.keyGets == nil {
		s.keyGets = map[string]int{}
	}
	s.keyGets[k]++
	if strings.HasPrefix(k, prefixEntry) || strings.HasPrefix(k, prefixBucket) {
		s.entryGets++
	}
	return s.memState.Get(k)
}

func (s *countingState) Put(k string, v []byte) error {
	s.puts = append(s.puts, k)
	return s.memState.Put(k, v)
}

func (s *countingState) Range(start, end string) (Iterator, error) {
	s.ranges++
	s.starts = append(s.starts, start)
	return s.memState.Range(start, end)
}

// signers registers transcript-signing keys for institutions of the seeded
// state (A: requester, B: provider) and returns their signers.
func signers(t testing.TB, c *Contract, st *memState, msps ...string) map[string]ecsig.Sign {
	t.Helper()
	sign := make(map[string]ecsig.Sign)
	for _, msp := range msps {
		s, err := registerSigningKey(t, c, st, msp)
		if err != nil {
			t.Fatal(err)
		}
		sign[msp] = s
	}
	return sign
}

// registerSigningKey makes a fresh signing key msp's registered one
// (UpdateProfile as msp) and returns its signer with the contract's answer.
func registerSigningKey(t testing.TB, c *Contract, st *memState, msp string) (ecsig.Sign, error) {
	t.Helper()
	key, pub, err := ecsig.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	arg, err := json.Marshal(Profile{SigningKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	st.caller = msp
	_, err = c.Invoke(st, FnUpdateProfile, arg)
	return ecsig.NewSigner(key, rand.Reader), err
}

// signedEntry is an entry of period 1 from requester to B for 5 items of
// the seeded category; salt varies the response hash.
func signedEntry(t testing.TB, sign map[string]ecsig.Sign, requester string, seq uint64, salt byte) Entry {
	t.Helper()
	return signedEntryTo(t, sign, requester, "B", seq, salt)
}

// signedEntryTo is signedEntry answered by responder.
func signedEntryTo(t testing.TB, sign map[string]ecsig.Sign, requester, responder string, seq uint64, salt byte) Entry {
	t.Helper()
	h := &transcript.Header{
		Protocol: transcript.ProtocolCatalogOPRF, Suite: transcript.SuiteRistretto255SHA512,
		Category: "black", Period: 1, Requester: requester, Responder: responder, Sequence: seq, Count: 5,
	}
	return signedHeader(t, sign, h, salt, 10)
}

// signedHeader is an entry of h billing amount, signed by h's parties; salt
// varies the response hash.
func signedHeader(t testing.TB, sign map[string]ecsig.Sign, h *transcript.Header, salt byte, amount int64) Entry {
	t.Helper()
	seq := h.Sequence
	reqSign, respSign := sign[h.Requester], sign[h.Responder]
	hdr, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	reqHash, respHash := [32]byte{byte(seq)}, [32]byte{byte(seq), salt}
	reqDigest, err := transcript.RequestDigest(h, reqHash)
	if err != nil {
		t.Fatal(err)
	}
	reqSig, err := transcript.SignRequest(reqSign, reqDigest)
	if err != nil {
		t.Fatal(err)
	}
	respSig, err := transcript.SignResponse(respSign, transcript.ResponseDigest(reqDigest, respHash))
	if err != nil {
		t.Fatal(err)
	}
	return Entry{
		Header: hdr, RequestHash: reqHash[:], ResponseHash: respHash[:],
		RequesterSignature: reqSig, ResponderSignature: respSig, Amount: amount,
	}
}

// TestRecordReadsRunsWithOneRange checks that a batch's runs of consecutive
// sequence numbers are read with one range each and other keys' buckets
// with one Get each, and that duplicates and conflicts inside a run are
// still found, also against entries recorded earlier in the same batch.
func TestRecordReadsRunsWithOneRange(t *testing.T) {
	c, err := New("Reg")
	if err != nil {
		t.Fatal(err)
	}
	mem := seeded(t, c)
	sign := signers(t, c, mem, "A", "B")
	st := &countingState{memState: mem}
	st.caller = "B"
	record := func(entries []Entry) []Outcome { return record(t, c, st, entries) }
	// Runs 1–5 and 40–42 (the latter given out of order), in buckets 0 and
	// 1; 70 and 71 are too short a run, in bucket 2, read once; 100 is
	// alone, in bucket 3.
	seqs := []uint64{1, 2, 3, 4, 5, 42, 41, 40, 70, 71, 100}
	var batch []Entry
	for _, seq := range seqs {
		batch = append(batch, signedEntry(t, sign, "A", seq, 0))
	}
	for i, o := range record(batch) {
		if o.Status != OutcomeRecorded || o.Key.Sequence != seqs[i] {
			t.Fatalf("entry %d: %+v", i, o)
		}
	}
	if st.ranges != 2 || st.entryGets != 2 {
		t.Fatalf("%d range reads and %d gets of buckets, want 2 and 2", st.ranges, st.entryGets)
	}

	// Again, with a conflicting entry inside a run, a new entry extending
	// it and that new entry once more in the same batch.
	keysBefore := len(mem.kv)
	again := append([]Entry{}, batch...)
	again[2] = signedEntry(t, sign, "A", 3, 1)
	fresh := signedEntry(t, sign, "A", 6, 0)
	again = append(again, fresh, fresh)
	out := record(again)
	for i, o := range out {
		want := OutcomeDuplicate
		switch i {
		case 2:
			want = OutcomeRejected
			if o.Code != CodeConflict {
				t.Fatalf("entry 2: %+v, want a conflict", o)
			}
		case len(seqs):
			want = OutcomeRecorded
		}
		if o.Status != want {
			t.Fatalf("entry %d: %+v, want %s", i, o, want)
		}
	}
	// Entry 6 joins bucket 0, rewritten with the five before it.
	var six RecordedEntry
	if err := invokeRaw(t, c, mem, "A", FnGetEntry, `{"period":1,"requester":"A","responder":"B","sequence":6}`, &six); err != nil ||
		len(mem.kv) != keysBefore {
		t.Fatalf("entry 6: %v; %d new keys, want none", err, len(mem.kv)-keysBefore)
	}
}

// TestRecordRangeReadsInFixedOrder checks that the runs of several
// requesters are read in the same order every time, whatever their order in
// the batch: every Fabric endorser must build the same read-write set.
func TestRecordRangeReadsInFixedOrder(t *testing.T) {
	c, err := New("Reg")
	if err != nil {
		t.Fatal(err)
	}
	mem := seeded(t, c)
	mem.caller = "Reg"
	if _, err := c.Invoke(mem, FnAddInstitution, []byte(`{"mspId":"C","name":"c","roles":["requester"]}`)); err != nil {
		t.Fatal(err)
	}
	sign := signers(t, c, mem, "A", "B", "C")
	var batch []Entry
	for _, requester := range []string{"C", "A"} {
		for seq := uint64(1); seq <= 3; seq++ {
			batch = append(batch, signedEntry(t, sign, requester, seq, 0))
		}
	}
	var first []string
	for i := range 20 {
		st := &countingState{memState: mem}
		st.caller = "B"
		record(t, c, st, batch)
		if i == 0 {
			first = st.starts
			if len(first) != 2 || first[0] > first[1] {
				t.Fatalf("range reads from %q, want two in ascending order", first)
			}
		} else if !slices.Equal(st.starts, first) {
			t.Fatalf("range reads from %q, then from %q", first, st.starts)
		}
	}
}

// record runs Record on st and returns the outcomes.
func record(t *testing.T, c *Contract, st State, entries []Entry) []Outcome {
	t.Helper()
	arg, err := json.Marshal(entries)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Invoke(st, FnRecord, arg)
	if err != nil {
		t.Fatal(err)
	}
	var out []Outcome
	if err := json.Unmarshal(res, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// allocatedBy returns the bytes the heap allocated while f ran.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestAdversaryRecordOfEmptyEntriesIsCountedFirst plays a channel member
// that sends Record the largest argument the contract takes, filled with
// empty entries: decoding it would allocate about 930 MiB in every
// endorser (each "{}," becomes a whole Entry). The batch is refused after
// counting its elements, with at most a few MiB allocated (the decoder is
// never reached).
func TestAdversaryRecordOfEmptyEntriesIsCountedFirst(t *testing.T) {
	c, _ := New("Reg")
	st := seeded(t, c)
	st.caller = "B"
	n := (MaxArgSize - 2) / 3
	arg := []byte("[" + strings.Repeat("{},", n-1) + "{}]")
	var err error
	allocated := allocatedBy(func() { _, err = c.Invoke(st, FnRecord, arg) })
	if CodeOf(err) != CodeInvalidArgument {
		t.Fatalf("Record of %d empty entries: %v, want invalid_argument", n, err)
	}
	if allocated > 1<<20 {
		t.Fatalf("refusing %d empty entries allocated %d bytes, want under 1 MiB", n, allocated)
	}
}

func TestArrayLen(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{`[]`, 0},
		{` [ {} ] `, 1},
		{`[{"a":[1,2,{"b":"],,["}]},"x\"]",3,[[]]]`, 4},
		{`[1,2,3,4,5]`, 4}, // stops past the limit of 3
		{`{"a":[1,2]}`, 0},
		{`null`, 0},
		{`[1,2`, 2},
	} {
		if got := arrayLen([]byte(tt.in), 3); got != tt.want {
			t.Errorf("arrayLen(%s) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// FuzzArrayLen checks the count against the JSON decoder on every input
// the decoder accepts as an array: a count below the real length would
// let an oversized batch through to the decoder, one above it would
// refuse a valid batch.
func FuzzArrayLen(f *testing.F) {
	for _, s := range []string{`[]`, `[{}]`, `[{"header":"AAE="},{}]`, `["\\",",",[],{}]`, `[1, 2 ,3]`, `[[[]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var elems []json.RawMessage
		if json.Unmarshal(in, &elems) != nil || elems == nil {
			return
		}
		if got := arrayLen(in, len(in)); got != len(elems) {
			t.Fatalf("arrayLen(%q) = %d, the decoder finds %d", in, got, len(elems))
		}
	})
}

// accessState records the keys a transaction reads (each Get, and each
// range as its bounds) and writes.
type accessState struct {
	*memState
	gets, puts []string
	ranges     [][2]string
}

func (s *accessState) Get(k string) ([]byte, error) {
	s.gets = append(s.gets, k)
	return s.memState.Get(k)
}

func (s *accessState) Put(k string, v []byte) error {
	s.puts = append(s.puts, k)
	return s.memState.Put(k, v)
}

func (s *accessState) Range(start, end string) (Iterator, error) {
	s.ranges = append(s.ranges, [2]string{start, end})
	return s.memState.Range(start, end)
}

// reads reports whether the transaction read key, directly or in a range.
func (s *accessState) reads(key string) bool {
	return slices.Contains(s.gets, key) || slices.ContainsFunc(s.ranges, func(r [2]string) bool { return r[0] <= key && key < r[1] })
}

// TestRecordsOfTwoProvidersDoNotConflict is the MVCC rule of the exposure
// counters: two providers recording, at once, entries that bill the same
// requester in the same period each write their own spent key, and neither
// transaction reads or writes a key the other writes, so Fabric validates
// both. The exposure sums the two.
func TestRecordsOfTwoProvidersDoNotConflict(t *testing.T) {
	c, _ := New("Reg")
	mem := seeded(t, c)
	if _, err := c.Invoke(mem, FnAddInstitution, []byte(`{"mspId":"C","name":"c","roles":["requester"]}`)); err != nil {
		t.Fatal(err)
	}
	sign := signers(t, c, mem, "A", "B", "C")
	var txs [2]*accessState
	for i, responder := range []string{"A", "B"} {
		txs[i] = &accessState{memState: &memState{kv: mem.kv, caller: responder}}
		e := signedEntryTo(t, sign, "C", responder, uint64(10+i), 0)
		if out := record(t, c, txs[i], []Entry{e}); out[0].Status != OutcomeRecorded {
			t.Fatalf("%s's record: %+v", responder, out[0])
		}
	}
	for i, tx := range txs {
		other := txs[1-i]
		for _, k := range tx.puts {
			if other.reads(k) || slices.Contains(other.puts, k) {
				t.Fatalf("both providers' Records touch %s", k)
			}
		}
		if !slices.Contains(tx.puts, spentKey(1, "C", []string{"A", "B"}[i])) {
			t.Fatalf("Record %d wrote %v, no spent key of its own", i, tx.puts)
		}
	}
	mem.caller = "Reg"
	res, err := c.Invoke(mem, FnListExposures, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var xs []Exposure
	if err := json.Unmarshal(res, &xs); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(xs, func(x Exposure) bool { return x.MSPID == "C" })
	if i < 0 || xs[i].Unsettled != 2*10 || xs[i].Headroom != -2*10 {
		t.Fatalf("exposures %+v, want C's unsettled 20 (two entries of 10) and headroom -20", xs)
	}
}
