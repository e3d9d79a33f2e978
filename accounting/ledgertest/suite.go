package ledgertest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
)

// Prices the scenario sets. priceA changes to priceA2 after the accounting
// period opened, to show a period keeps the price it opened with.
const (
	priceA  = 3
	priceA2 = 4
	priceB  = 5
)

// Run runs the conformance scenario against h. Subtests run in order and
// depend on the ones before them; the first failing step stops the scenario.
func Run(t *testing.T, h Harness) {
	want := []string{RegulatorMSP, Bank1MSP, Bank2MSP, Bank3MSP}
	for i, id := range h.all() {
		if id.MSPID != want[i] || id.Ledger == nil || id.Sign == nil || len(id.PublicKey) == 0 {
			t.Fatalf("harness identity %d: want MSP %s with a Ledger, a signer and a public key", i, want[i])
		}
	}
	now := uint64(time.Now().UnixNano())
	s := &scenario{h: h, tag: fmt.Sprintf("%x", now&0xffffffffff), seq: now % 1e15 * 1000, net: map[string]int64{}}
	steps := []struct {
		name string
		run  func(*testing.T)
	}{
		{"Registry", s.registry},
		{"RegistryAccess", s.registryAccess},
		{"CredentialSquatting", s.credentialSquatting},
		{"PricesAndLimits", s.pricesAndLimits},
		{"OpenPeriod", s.openPeriod},
		{"Record", s.record},
		{"RecordIdempotent", s.recordIdempotent},
		{"RecordRejections", s.recordRejections},
		{"RecordBatchBound", s.recordBatchBound},
		{"Pagination", s.pagination},
		{"Exposure", s.exposure},
		{"GraceWindow", s.graceWindow},
		{"RecordSuspended", s.recordSuspended},
		{"Reversal", s.reversal},
		{"Settle", s.settle},
		{"ReversalAfterSettle", s.reversalAfterSettle},
		{"Snapshot", s.snapshot},
		{"MarkPaid", s.markPaid},
		{"Catalog", s.catalog},
		{"CatalogKey", s.catalogKey},
		{"SigningKeyRotation", s.signingKeyRotation},
		{"Quality", s.quality},
		{"ModePrices", s.modePrices},
		{"RecordLargeBatch", s.recordLargeBatch},
		{"RecordSmallBatches", s.recordSmallBatches},
		{"MoneyCycle", s.moneyCycle},
		{"QualityAcrossSnapshot", s.qualityAcrossSnapshot},
		{"LiveEntries", s.liveEntries},
		{"ReconEntries", s.reconEntries},
		{"LiveDispute", s.liveDispute},
		{"Governance", s.governance},
	}
	for _, st := range steps {
		if !t.Run(st.name, st.run) {
			t.Fatalf("step %s failed; later steps depend on it", st.name)
		}
	}
}

// registry registers the four organisations (tolerating a ledger where a
// previous run did) and their profiles.
func (s *scenario) registry(t *testing.T) {
	reg := s.h.Regulator.Ledger
	roles := map[string][]accounting.Role{
		RegulatorMSP: {accounting.RoleAuditor},
		Bank1MSP:     {accounting.RoleProvider, accounting.RoleRequester},
		Bank2MSP:     {accounting.RoleProvider, accounting.RoleRequester},
		Bank3MSP:     {accounting.RoleProvider, accounting.RoleRequester},
	}
	for i, id := range s.h.all() {
		err := reg.AddInstitution(ctx(t), id.MSPID, "Institution "+id.MSPID, roles[id.MSPID])
		if err != nil {
			wantErr(t, err, accounting.ErrConflict)
			must(t, reg.SetRoles(ctx(t), id.MSPID, roles[id.MSPID]))
			must(t, reg.ReactivateInstitution(ctx(t), id.MSPID))
		}
		fp := sha256.Sum256([]byte("tls certificate of " + id.MSPID))
		must(t, id.Ledger.UpdateProfile(ctx(t), accounting.Profile{
			Endpoint: fmt.Sprintf("127.0.0.1:%d", 7000+i), TLSFingerprint: fp[:], SigningKey: id.PublicKey,
		}))
		got, err := id.Ledger.Institution(ctx(t), id.MSPID)
		must(t, err)
		if got.MSPID != id.MSPID || got.Status != accounting.StatusActive || !bytes.Equal(got.SigningKey, id.PublicKey) ||
			!bytes.Equal(got.TLSFingerprint, fp[:]) || got.Endpoint != fmt.Sprintf("127.0.0.1:%d", 7000+i) ||
			len(got.Roles) != len(roles[id.MSPID]) {
			t.Fatalf("registry record of %s: %+v", id.MSPID, got)
		}
	}
	// A partial update keeps the other fields.
	must(t, s.h.Bank1.Ledger.UpdateProfile(ctx(t), accounting.Profile{Endpoint: "bank1.example:7443"}))
	got, err := s.h.Bank1.Ledger.Institution(ctx(t), Bank1MSP)
	must(t, err)
	if got.Endpoint != "bank1.example:7443" || !bytes.Equal(got.SigningKey, s.h.Bank1.PublicKey) {
		t.Fatalf("partial update: %+v", got)
	}
	all, err := s.h.Bank3.Ledger.Institutions(ctx(t))
	must(t, err)
	seen := map[string]bool{}
	for _, inst := range all {
		seen[inst.MSPID] = true
	}
	for _, id := range s.h.all() {
		if !seen[id.MSPID] {
			t.Fatalf("Institutions misses %s", id.MSPID)
		}
	}
	// OPRF keys: a provider sets its own; the regulator (auditor only) cannot.
	cat := s.category("a")
	key := bytes.Repeat([]byte{7}, 32)
	must(t, s.h.Bank2.Ledger.SetOPRFKey(ctx(t), cat, key))
	got, err = s.h.Bank2.Ledger.Institution(ctx(t), Bank2MSP)
	must(t, err)
	if !bytes.Equal(got.OPRFKeys[cat], key) {
		t.Fatalf("OPRF key not registered: %+v", got.OPRFKeys)
	}
	wantErr(t, s.h.Regulator.Ledger.SetOPRFKey(ctx(t), cat, key), accounting.ErrForbidden)
	wantErr(t, s.h.Bank2.Ledger.SetOPRFKey(ctx(t), cat, key[:31]), accounting.ErrInvalidArgument)
	_, err = reg.Institution(ctx(t), "NoSuchMSP")
	wantErr(t, err, accounting.ErrNotFound)
}

// registryAccess checks that only the regulator administers the registry and
// that bad registry input changes nothing.
func (s *scenario) registryAccess(t *testing.T) {
	b1 := s.h.Bank1.Ledger
	wantErr(t, b1.AddInstitution(ctx(t), "Bank9MSP", "intruder", nil), accounting.ErrForbidden)
	wantErr(t, b1.SuspendInstitution(ctx(t), Bank2MSP), accounting.ErrForbidden)
	wantErr(t, b1.SetRoles(ctx(t), Bank1MSP, []accounting.Role{accounting.RoleAuditor}), accounting.ErrForbidden)
	wantErr(t, s.h.Regulator.Ledger.AddInstitution(ctx(t), Bank1MSP, "again", nil), accounting.ErrConflict)
	wantErr(t, s.h.Regulator.Ledger.AddInstitution(ctx(t), "bad/msp", "x", nil), accounting.ErrInvalidArgument)
	wantErr(t, s.h.Regulator.Ledger.SetRoles(ctx(t), Bank1MSP, []accounting.Role{"king"}), accounting.ErrInvalidArgument)

	before, err := b1.Institution(ctx(t), Bank1MSP)
	must(t, err)
	wantErr(t, b1.UpdateProfile(ctx(t), accounting.Profile{TLSFingerprint: make([]byte, 31)}), accounting.ErrInvalidArgument)
	wantErr(t, b1.UpdateProfile(ctx(t), accounting.Profile{SigningKey: []byte("not a key")}), accounting.ErrInvalidArgument)
	wantErr(t, b1.UpdateProfile(ctx(t), accounting.Profile{}), accounting.ErrInvalidArgument)
	after, err := b1.Institution(ctx(t), Bank1MSP)
	must(t, err)
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("rejected updates changed the record:\n%+v\n%+v", before, after)
	}
	// An institution reaches only its own record: UpdateProfile names no
	// institution, so Bank2's record is untouched by Bank1's updates.
	b2, err := b1.Institution(ctx(t), Bank2MSP)
	must(t, err)
	if !bytes.Equal(b2.SigningKey, s.h.Bank2.PublicKey) {
		t.Fatal("Bank2's signing key changed")
	}
}

func (s *scenario) pricesAndLimits(t *testing.T) {
	reg := s.h.Regulator.Ledger
	must(t, reg.SetPrice(ctx(t), s.category("a"), priceA))
	must(t, reg.SetPrice(ctx(t), s.category("b"), priceB))
	wantErr(t, s.h.Bank1.Ledger.SetPrice(ctx(t), s.category("a"), 1), accounting.ErrForbidden)
	wantErr(t, reg.SetPrice(ctx(t), s.category("a"), -1), accounting.ErrInvalidArgument)
	wantErr(t, reg.SetPrice(ctx(t), "bad category", 1), accounting.ErrInvalidArgument)
	prices, err := s.h.Bank3.Ledger.Prices(ctx(t))
	must(t, err)
	if prices.Prices[s.category("a")] != priceA || prices.Prices[s.category("b")] != priceB {
		t.Fatalf("prices %v", prices)
	}
	// Bank1 may not overdraw at all; the others have room.
	must(t, reg.SetLimit(ctx(t), Bank1MSP, 0))
	must(t, reg.SetLimit(ctx(t), Bank2MSP, 1_000_000))
	must(t, reg.SetLimit(ctx(t), Bank3MSP, 1_000_000))
	wantErr(t, s.h.Bank1.Ledger.SetLimit(ctx(t), Bank1MSP, 1_000_000), accounting.ErrForbidden)
	wantErr(t, reg.SetLimit(ctx(t), Bank1MSP, -5), accounting.ErrInvalidArgument)
	wantErr(t, reg.SetLimit(ctx(t), "Bank9MSP", 5), accounting.ErrNotFound)
	acc, err := s.h.Bank1.Ledger.Account(ctx(t), Bank1MSP)
	must(t, err)
	if acc.Limit != 0 {
		t.Fatalf("Bank1 account %+v", acc)
	}
}

// openPeriod brings any earlier periods to their end (on a ledger a previous
// run left behind) and opens a fresh period for the scenario, capturing the
// prices set above.
func (s *scenario) openPeriod(t *testing.T) {
	reg := s.h.Regulator.Ledger
	_, err := s.h.Bank1.Ledger.Rollover(ctx(t))
	wantErr(t, err, accounting.ErrForbidden)
	p, err := reg.Rollover(ctx(t))
	if err != nil {
		// The period before the current one is still in its grace window.
		wantErr(t, err, accounting.ErrFailedPrecondition)
		cur, err := reg.Period(ctx(t), 0)
		must(t, err)
		must(t, reg.ClosePeriod(ctx(t), cur.Number-1))
		p, err = reg.Rollover(ctx(t))
		must(t, err)
	}
	if p.State != accounting.PeriodOpen || p.Prices[s.category("a")] != priceA {
		t.Fatalf("new period %+v", p)
	}
	for n := uint64(1); n < p.Number; n++ {
		old, err := reg.Period(ctx(t), n)
		must(t, err)
		if old.State == accounting.PeriodGrace {
			must(t, reg.ClosePeriod(ctx(t), n))
		}
		if old.State == accounting.PeriodGrace || old.State == accounting.PeriodClosed || old.State == accounting.PeriodSettling {
			settleAll(t, reg, n, 0)
		}
		if old.State != accounting.PeriodSnapshotted {
			_, err := reg.TakeSnapshot(ctx(t), n)
			must(t, err)
		}
	}
	s.period = p.Number
	cur, err := s.h.Bank2.Ledger.Period(ctx(t), 0)
	must(t, err)
	if cur.Number != s.period {
		t.Fatalf("current period %d, want %d", cur.Number, s.period)
	}
	// A price change applies from the next period.
	must(t, reg.SetPrice(ctx(t), s.category("a"), priceA2))
	_, err = reg.Period(ctx(t), s.period+1000)
	wantErr(t, err, accounting.ErrNotFound)
}

func (s *scenario) record(t *testing.T) {
	b1, b2, b3 := &s.h.Bank1, &s.h.Bank2, &s.h.Bank3
	a, b := s.category("a"), s.category("b")
	e1 := s.entry(t, b1, b2, a, s.period, 10, priceA, entryOpts{})
	e2 := s.entry(t, b1, b2, a, s.period, 1, priceA, entryOpts{})
	e3 := s.entry(t, b3, b2, b, s.period, 4, priceB, entryOpts{})
	e4 := s.entry(t, b2, b1, b, s.period, 1, priceB, entryOpts{})
	s.recordOK(t, b2, e1, e2, e3)
	s.recordOK(t, b1, e4)
	got, err := b3.Ledger.Entry(ctx(t), keyOf(t, e1))
	must(t, err)
	if !bytes.Equal(got.Header, e1.Header) || !bytes.Equal(got.RequesterSignature, e1.RequesterSignature) ||
		got.Amount != 10*priceA || got.Count != 10 || got.Category != a || got.Reversal != nil || got.TxID == "" {
		t.Fatalf("stored entry %+v", got)
	}
}

func (s *scenario) recordIdempotent(t *testing.T) {
	b1, b2 := &s.h.Bank1, &s.h.Bank2
	a := s.category("a")
	e := s.entry(t, b1, b2, a, s.period, 3, priceA, entryOpts{})
	s.recordOK(t, b2, e)
	// The same entry again, and the same exchange with fresh signatures.
	again := s.entry(t, b1, b2, a, s.period, 3, priceA, entryOpts{seq: keyOf(t, e).Sequence})
	outs, err := b2.Ledger.Record(ctx(t), []accounting.Entry{e, again})
	must(t, err)
	wantOutcome(t, outs[0], accounting.OutcomeDuplicate, "")
	wantOutcome(t, outs[1], accounting.OutcomeDuplicate, "")
	// A different entry under the same key is a conflict, and changes nothing.
	other := s.entry(t, b1, b2, a, s.period, 3, priceA, entryOpts{seq: keyOf(t, e).Sequence, responseSalt: 1})
	outs, err = b2.Ledger.Record(ctx(t), []accounting.Entry{other})
	must(t, err)
	wantOutcome(t, outs[0], accounting.OutcomeRejected, chaincode.CodeConflict)
	if !errors.Is(accounting.Sentinel(outs[0].Code), accounting.ErrConflict) {
		t.Fatal("Sentinel does not map the conflict code")
	}
	got, err := b2.Ledger.Entry(ctx(t), keyOf(t, e))
	must(t, err)
	if !bytes.Equal(got.ResponseHash, e.ResponseHash) {
		t.Fatal("a conflicting entry replaced the recorded one")
	}
}

func (s *scenario) recordRejections(t *testing.T) {
	b1, b2, b3 := &s.h.Bank1, &s.h.Bank2, &s.h.Bank3
	a := s.category("a")
	good := s.entry(t, b3, b2, a, s.period, 2, priceA, entryOpts{})
	garbage := s.entry(t, b3, b2, a, s.period, 2, priceA, entryOpts{})
	garbage.Header = append(garbage.Header, 0)
	cases := []struct {
		name string
		e    accounting.Entry
		code chaincode.Code
	}{
		{"ForgedRequesterSignature", s.entry(t, b3, b2, a, s.period, 2, priceA, entryOpts{requesterSign: b1}), chaincode.CodeBadSignature},
		{"ForgedResponderSignature", s.entry(t, b3, b2, a, s.period, 2, priceA, entryOpts{responderSign: b1}), chaincode.CodeBadSignature},
		{"WrongAmount", s.entry(t, b3, b2, a, s.period, 2, priceA, entryOpts{amount: 2*priceA + 1}), chaincode.CodeWrongAmount},
		{"NewPriceTooEarly", s.entry(t, b3, b2, a, s.period, 2, priceA2, entryOpts{}), chaincode.CodeWrongAmount},
		{"UnpricedCategory", s.entry(t, b3, b2, s.category("unpriced"), s.period, 2, priceA, entryOpts{}), chaincode.CodeInvalidArgument},
		{"TrailingHeaderByte", garbage, chaincode.CodeInvalidArgument},
		{"UnknownRequester", s.entry(t, b3, b2, a, s.period, 2, priceA, entryOpts{requesterMSP: "Bank9MSP"}), chaincode.CodeNotFound},
		{"FuturePeriod", s.entry(t, b3, b2, a, s.period+1000, 2, priceA, entryOpts{}), chaincode.CodeNotFound},
		{"CallerIsNotResponder", s.entry(t, b3, b1, a, s.period, 2, priceA, entryOpts{}), chaincode.CodeForbidden},
	}
	batch := []accounting.Entry{good}
	for _, c := range cases {
		batch = append(batch, c.e)
	}
	outs, err := b2.Ledger.Record(ctx(t), batch)
	must(t, err)
	wantOutcome(t, outs[0], accounting.OutcomeRecorded, "")
	s.net[Bank3MSP] -= good.Amount
	s.net[Bank2MSP] += good.Amount
	s.keys = append(s.keys, keyOf(t, good))
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantOutcome(t, outs[i+1], accounting.OutcomeRejected, c.code)
			if c.code == chaincode.CodeInvalidArgument && c.name == "TrailingHeaderByte" {
				return
			}
			_, err := b2.Ledger.Entry(ctx(t), keyOf(t, c.e))
			wantErr(t, err, accounting.ErrNotFound)
		})
	}
	// A requester cannot record its own purchase.
	own := s.entry(t, b1, b2, a, s.period, 1, priceA, entryOpts{})
	outs, err = b1.Ledger.Record(ctx(t), []accounting.Entry{own})
	must(t, err)
	wantOutcome(t, outs[0], accounting.OutcomeRejected, chaincode.CodeForbidden)
	// Whole-batch errors.
	_, err = b2.Ledger.Record(ctx(t), nil)
	wantErr(t, err, accounting.ErrInvalidArgument)
	_, err = s.h.Regulator.Ledger.Record(ctx(t), []accounting.Entry{own})
	if err == nil {
		outs, _ := s.h.Regulator.Ledger.Record(ctx(t), []accounting.Entry{own})
		wantOutcome(t, outs[0], accounting.OutcomeRejected, chaincode.CodeForbidden)
	}
}

func (s *scenario) pagination(t *testing.T) {
	b2, b3 := &s.h.Bank2, &s.h.Bank3
	var batch []accounting.Entry
	for i := 0; i < 7; i++ {
		batch = append(batch, s.entry(t, b3, b2, s.category("b"), s.period, uint32(i+1), priceB, entryOpts{}))
	}
	s.recordOK(t, b2, batch...)
	for _, q := range []accounting.EntriesQuery{
		{Period: s.period, Party: Bank3MSP, PageSize: 3},
		{Period: s.period, Party: Bank2MSP, AsResponder: true, PageSize: 4},
	} {
		t.Run(fmt.Sprintf("%s/responder=%v", q.Party, q.AsResponder), func(t *testing.T) {
			var keys []string
			pages := 0
			for {
				page, err := b3.Ledger.Entries(ctx(t), q)
				must(t, err)
				pages++
				if len(page.Entries) > q.PageSize {
					t.Fatalf("page of %d entries, size %d", len(page.Entries), q.PageSize)
				}
				for _, e := range page.Entries {
					if q.AsResponder && e.Key.Responder != q.Party || !q.AsResponder && e.Key.Requester != q.Party || e.Key.Period != s.period {
						t.Fatalf("entry %+v does not match query", e.Key)
					}
					keys = append(keys, e.Key.String())
				}
				if page.Bookmark == "" {
					break
				}
				q.Bookmark = page.Bookmark
			}
			want := 0
			for _, k := range s.keys {
				if q.AsResponder && k.Responder == q.Party || !q.AsResponder && k.Requester == q.Party {
					want++
				}
			}
			if len(keys) != want || pages < 2 || !sort.StringsAreSorted(keys) {
				t.Fatalf("%d entries in %d pages, want %d in several", len(keys), pages, want)
			}
			for i := 1; i < len(keys); i++ {
				if keys[i] == keys[i-1] {
					t.Fatal("an entry appears twice")
				}
			}
		})
	}
	_, err := b3.Ledger.Entries(ctx(t), accounting.EntriesQuery{Period: s.period, Party: Bank3MSP, Bookmark: "entry/elsewhere"})
	wantErr(t, err, accounting.ErrInvalidArgument)
	_, err = b3.Ledger.Entries(ctx(t), accounting.EntriesQuery{Period: s.period, Party: Bank3MSP, PageSize: chaincode.MaxPageSize + 1})
	wantErr(t, err, accounting.ErrInvalidArgument)
}

func (s *scenario) graceWindow(t *testing.T) {
	reg := s.h.Regulator.Ledger
	b2, b3 := &s.h.Bank2, &s.h.Bank3
	next, err := reg.Rollover(ctx(t))
	must(t, err)
	if next.Number != s.period+1 || next.Prices[s.category("a")] != priceA2 {
		t.Fatalf("next period %+v", next)
	}
	p, err := reg.Period(ctx(t), s.period)
	must(t, err)
	if p.State != accounting.PeriodGrace {
		t.Fatalf("period %d is %s after rollover", s.period, p.State)
	}
	// Late records for the previous period are accepted during grace.
	late := s.entry(t, b3, b2, s.category("a"), s.period, 6, priceA, entryOpts{})
	s.recordOK(t, b2, late)
	_, err = reg.Rollover(ctx(t))
	wantErr(t, err, accounting.ErrFailedPrecondition)
	wantErr(t, reg.ClosePeriod(ctx(t), s.period+1), accounting.ErrFailedPrecondition)
	wantErr(t, s.h.Bank1.Ledger.ClosePeriod(ctx(t), s.period), accounting.ErrForbidden)
	must(t, reg.ClosePeriod(ctx(t), s.period))
	wantErr(t, reg.ClosePeriod(ctx(t), s.period), accounting.ErrFailedPrecondition)
	tooLate := s.entry(t, b3, b2, s.category("a"), s.period, 6, priceA, entryOpts{})
	outs, err := b2.Ledger.Record(ctx(t), []accounting.Entry{tooLate, late})
	must(t, err)
	wantOutcome(t, outs[0], accounting.OutcomeRejected, chaincode.CodePeriodClosed)
	// Re-flushing an already recorded entry still succeeds after the close.
	wantOutcome(t, outs[1], accounting.OutcomeDuplicate, "")
	// The new period bills at the new price.
	s.recordOK(t, b2, s.entry(t, b3, b2, s.category("a"), s.period+1, 2, priceA2, entryOpts{}))
}

func (s *scenario) reversal(t *testing.T) {
	b1, b2, b3 := &s.h.Bank1, &s.h.Bank2, &s.h.Bank3
	key := s.keys[1] // e2: Bank1 -> Bank2
	wantErr(t, b2.Ledger.Reverse(ctx(t), endorse(t, RegulatorMSP, &s.h.Regulator, key, accounting.VerdictUpheld)), accounting.ErrForbidden)
	wantErr(t, b1.Ledger.Reverse(ctx(t), endorse(t, RegulatorMSP, b3, key, accounting.VerdictUpheld)), accounting.ErrBadSignature)
	wantErr(t, b1.Ledger.Reverse(ctx(t), endorse(t, Bank3MSP, b3, key, accounting.VerdictUpheld)), accounting.ErrForbidden)
	wantErr(t, b1.Ledger.Reverse(ctx(t), endorse(t, RegulatorMSP, &s.h.Regulator, key, accounting.VerdictRejected)), accounting.ErrForbidden)
	forged := endorse(t, RegulatorMSP, &s.h.Regulator, key, accounting.VerdictUpheld)
	forged.Key.Sequence++
	wantErr(t, b1.Ledger.Reverse(ctx(t), forged), accounting.ErrNotFound)
	got, err := b1.Ledger.Entry(ctx(t), key)
	must(t, err)
	if got.Reversal != nil {
		t.Fatal("a rejected reversal marked the entry")
	}
	s.reverseOK(t, b1, key)
	got, err = b1.Ledger.Entry(ctx(t), key)
	must(t, err)
	if got.Reversal == nil || got.Reversal.Auditor != RegulatorMSP || got.Reversal.Verdict != accounting.VerdictUpheld {
		t.Fatalf("reversal %+v", got.Reversal)
	}
	wantErr(t, b1.Ledger.Reverse(ctx(t), endorse(t, RegulatorMSP, &s.h.Regulator, key, accounting.VerdictUpheld)), accounting.ErrAlreadyReversed)
}

// settle settles the scenario's period in small steps, reversing an already
// settled entry half way, and checks the exact net changes and flags.
func (s *scenario) settle(t *testing.T) {
	reg := s.h.Regulator.Ledger
	_, err := s.h.Bank1.Ledger.Settle(ctx(t), s.period, 2)
	wantErr(t, err, accounting.ErrForbidden)
	_, err = reg.Settle(ctx(t), s.period+1, 2)
	wantErr(t, err, accounting.ErrFailedPrecondition)
	_, err = reg.Settle(ctx(t), s.period, chaincode.MaxSettleStep+1)
	wantErr(t, err, accounting.ErrInvalidArgument)

	first, err := reg.Settle(ctx(t), s.period, 2)
	must(t, err)
	if first.Done || first.Processed != 2 {
		t.Fatalf("first step %+v", first)
	}
	// The smallest key of the period was settled by the first step; reverse
	// it now (requester Bank1: e1, the first recorded).
	keys := append([]accounting.EntryKey(nil), s.keys...)
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	var target accounting.EntryKey
	for _, k := range keys {
		e, err := reg.Entry(ctx(t), k)
		must(t, err)
		if e.Reversal == nil {
			target = k
			break
		}
	}
	if target.Requester != Bank1MSP {
		t.Fatalf("unexpected first unreversed key %+v", target)
	}
	s.reverseOK(t, &s.h.Bank1, target)
	p, err := reg.Period(ctx(t), s.period)
	must(t, err)
	if p.State != accounting.PeriodSettling {
		t.Fatalf("period state %s during settlement", p.State)
	}
	steps, last := settleAll(t, reg, s.period, 2)
	if steps < 2 {
		t.Fatalf("settled in %d steps of 2 entries", steps)
	}
	p, err = reg.Period(ctx(t), s.period)
	must(t, err)
	if p.State != accounting.PeriodSettled || p.Entries != uint64(len(s.keys)) {
		t.Fatalf("settled period %+v, want %d entries", p, len(s.keys))
	}
	var sum int64
	for _, id := range s.h.all() {
		if p.Net[id.MSPID] != s.net[id.MSPID] {
			t.Fatalf("net change of %s = %d, want %d (all: %v, want %v)", id.MSPID, p.Net[id.MSPID], s.net[id.MSPID], p.Net, s.net)
		}
		acc, err := id.Ledger.Account(ctx(t), id.MSPID)
		must(t, err)
		if acc.Balance != s.net[id.MSPID] {
			t.Fatalf("balance of %s = %d, want %d", id.MSPID, acc.Balance, s.net[id.MSPID])
		}
		if acc.Flagged != (acc.Balance < -acc.Limit) {
			t.Fatalf("account %+v flag", acc)
		}
		sum += acc.Balance
	}
	if sum != 0 {
		t.Fatalf("balances sum to %d", sum)
	}
	// Bank1 bought more than it sold and may not overdraw: flagged.
	if s.net[Bank1MSP] >= 0 || len(last.Flagged) != 1 || last.Flagged[0] != Bank1MSP {
		t.Fatalf("flags %v with net %v", last.Flagged, s.net)
	}
	_, err = reg.Settle(ctx(t), s.period, 2)
	wantErr(t, err, accounting.ErrFailedPrecondition)
}

// reversalAfterSettle reverses an entry of the settled period: both balances
// move by exactly its amount.
func (s *scenario) reversalAfterSettle(t *testing.T) {
	var key accounting.EntryKey
	for _, k := range s.keys {
		if k.Requester == Bank3MSP {
			key = k
		}
	}
	e, err := s.h.Bank3.Ledger.Entry(ctx(t), key)
	must(t, err)
	before3, err := s.h.Bank3.Ledger.Account(ctx(t), Bank3MSP)
	must(t, err)
	before2, err := s.h.Bank3.Ledger.Account(ctx(t), Bank2MSP)
	must(t, err)
	s.reverseOK(t, &s.h.Bank3, key)
	after3, err := s.h.Bank3.Ledger.Account(ctx(t), Bank3MSP)
	must(t, err)
	after2, err := s.h.Bank3.Ledger.Account(ctx(t), Bank2MSP)
	must(t, err)
	if after3.Balance != before3.Balance+e.Amount || after2.Balance != before2.Balance-e.Amount {
		t.Fatalf("balances %d->%d, %d->%d for amount %d", before3.Balance, after3.Balance, before2.Balance, after2.Balance, e.Amount)
	}
	p, err := s.h.Regulator.Ledger.Period(ctx(t), s.period)
	must(t, err)
	if p.Net[Bank3MSP] != s.net[Bank3MSP] || p.Net[Bank2MSP] != s.net[Bank2MSP] {
		t.Fatalf("period net %v, want %v", p.Net, s.net)
	}
}

func (s *scenario) snapshot(t *testing.T) {
	reg := s.h.Regulator.Ledger
	_, err := s.h.Bank1.Ledger.TakeSnapshot(ctx(t), s.period)
	wantErr(t, err, accounting.ErrForbidden)
	_, err = reg.TakeSnapshot(ctx(t), s.period+1)
	wantErr(t, err, accounting.ErrFailedPrecondition)
	before, err := reg.Accounts(ctx(t))
	must(t, err)
	snap, err := reg.TakeSnapshot(ctx(t), s.period)
	must(t, err)
	for _, a := range before {
		if snap.Balances[a.MSPID] != a.Balance {
			t.Fatalf("snapshot of %s = %d, balance was %d", a.MSPID, snap.Balances[a.MSPID], a.Balance)
		}
		if a.MSPID != RegulatorMSP && snap.Balances[a.MSPID] != s.net[a.MSPID] {
			t.Fatalf("snapshot of %s = %d, want %d", a.MSPID, snap.Balances[a.MSPID], s.net[a.MSPID])
		}
	}
	after, err := reg.Accounts(ctx(t))
	must(t, err)
	for _, a := range after { // flagged until the snapshot is paid (step MarkPaid)
		if a.Balance != 0 || a.Flagged != slices.Contains(snap.Flagged, a.MSPID) {
			t.Fatalf("account after snapshot %+v, snapshot flagged %v", a, snap.Flagged)
		}
	}
	stored, err := s.h.Bank2.Ledger.Snapshot(ctx(t), s.period)
	must(t, err)
	if fmt.Sprint(stored.Balances) != fmt.Sprint(snap.Balances) || stored.Period != s.period {
		t.Fatalf("stored snapshot %+v, returned %+v", stored, snap)
	}
	_, err = reg.TakeSnapshot(ctx(t), s.period)
	wantErr(t, err, accounting.ErrFailedPrecondition)
	_, err = reg.Snapshot(ctx(t), s.period+1)
	wantErr(t, err, accounting.ErrNotFound)
	// No reversal once the period is snapshotted.
	for _, k := range s.keys {
		e, err := reg.Entry(ctx(t), k)
		must(t, err)
		if e.Reversal == nil && k.Requester == Bank1MSP {
			wantErr(t, s.h.Bank1.Ledger.Reverse(ctx(t), endorse(t, RegulatorMSP, &s.h.Regulator, k, accounting.VerdictUpheld)), accounting.ErrPeriodClosed)
			return
		}
	}
	t.Fatal("no unreversed Bank1 entry left to try")
}

func (s *scenario) catalog(t *testing.T) {
	b2 := s.h.Bank2.Ledger
	cat, next := s.category("catalog"), s.period+1
	d := sha256.Sum256([]byte("catalog " + s.tag))
	key := registerOPRFKey(t, b2, cat)
	c := accounting.Catalog{Category: cat, Period: next, Digest: d[:], OPRFKey: key}
	must(t, b2.PublishCatalog(ctx(t), c))
	must(t, b2.PublishCatalog(ctx(t), c))
	other := sha256.Sum256([]byte("another catalog"))
	wantErr(t, b2.PublishCatalog(ctx(t), accounting.Catalog{Category: cat, Period: next, Digest: other[:], OPRFKey: key}), accounting.ErrConflict)
	// The key is fixed with the digest: a rotated key waits for the next period.
	wantErr(t, b2.PublishCatalog(ctx(t), accounting.Catalog{Category: cat, Period: next, Digest: d[:], OPRFKey: bytes.Repeat([]byte{8}, 32)}), accounting.ErrConflict)
	wantErr(t, b2.PublishCatalog(ctx(t), accounting.Catalog{Category: cat, Period: next, Digest: d[:31], OPRFKey: key}), accounting.ErrInvalidArgument)
	wantErr(t, b2.PublishCatalog(ctx(t), accounting.Catalog{Category: cat, Period: next, Digest: d[:]}), accounting.ErrInvalidArgument)
	wantErr(t, s.h.Regulator.Ledger.PublishCatalog(ctx(t), c), accounting.ErrForbidden)
	got, err := b2.Catalog(ctx(t), Bank2MSP, cat, next)
	must(t, err)
	if !bytes.Equal(got.Digest, d[:]) || !bytes.Equal(got.OPRFKey, key) || got.MSPID != Bank2MSP || got.Period != next {
		t.Fatalf("catalog %+v", got)
	}
	_, err = s.h.Bank1.Ledger.Catalog(ctx(t), Bank1MSP, cat, next)
	wantErr(t, err, accounting.ErrNotFound)
}

// signingKeyRotation rotates Bank3's transcript-signing key while entries
// signed under the old one are still queued, across a period boundary: the
// old key signs for the periods up to the one it was replaced in, the new
// one from the oldest period still accepting records, and the registry
// keeps the old one with its periods. It ends with Bank3 back on its
// harness key.
func (s *scenario) signingKeyRotation(t *testing.T) {
	reg := s.h.Regulator.Ledger
	b2, b3 := &s.h.Bank2, &s.h.Bank3
	cat := s.category("a")
	p, err := reg.Rollover(ctx(t)) // p open, p-1 in grace
	must(t, err)
	// Queued before the rotation, under the old key.
	queuedGrace := s.entry(t, b3, b2, cat, p.Number-1, 1, priceA2, entryOpts{})
	queuedOpen := s.entry(t, b3, b2, cat, p.Number, 1, priceA2, entryOpts{})

	rotated := newIdentity(t, b3)
	must(t, b3.Ledger.UpdateProfile(ctx(t), accounting.Profile{SigningKey: rotated.PublicKey}))
	inst, err := b3.Ledger.Institution(ctx(t), Bank3MSP)
	must(t, err)
	last := inst.PastSigningKeys[len(inst.PastSigningKeys)-1]
	if !bytes.Equal(inst.SigningKey, rotated.PublicKey) || inst.SigningKeyFrom != p.Number-1 ||
		!bytes.Equal(last.Key, b3.PublicKey) || last.Until != p.Number {
		t.Fatalf("after rotation in period %d: current from %d, last replaced key until %d", p.Number, inst.SigningKeyFrom, last.Until)
	}
	if ks := inst.SigningKeysIn(p.Number); len(ks) != 2 {
		t.Fatalf("%d keys valid in the rotation's period, want 2", len(ks))
	}
	// Registering the current key again is no rotation.
	must(t, b3.Ledger.UpdateProfile(ctx(t), accounting.Profile{SigningKey: rotated.PublicKey}))
	again, err := b3.Ledger.Institution(ctx(t), Bank3MSP)
	must(t, err)
	if len(again.PastSigningKeys) != len(inst.PastSigningKeys) {
		t.Fatal("re-registering the current key added a replaced key")
	}

	s.recordOK(t, b2, queuedGrace, queuedOpen,
		s.entry(t, b3, b2, cat, p.Number-1, 1, priceA2, entryOpts{requesterSign: rotated}),
		s.entry(t, b3, b2, cat, p.Number, 1, priceA2, entryOpts{requesterSign: rotated}))

	must(t, reg.ClosePeriod(ctx(t), p.Number-1))
	next, err := reg.Rollover(ctx(t)) // p in grace
	must(t, err)
	outs, err := b2.Ledger.Record(ctx(t), []accounting.Entry{
		s.entry(t, b3, b2, cat, p.Number, 1, priceA2, entryOpts{}),
		s.entry(t, b3, b2, cat, next.Number, 1, priceA2, entryOpts{}),
		s.entry(t, b3, b2, cat, next.Number, 1, priceA2, entryOpts{requesterSign: rotated}),
	})
	must(t, err)
	wantOutcome(t, outs[0], accounting.OutcomeRecorded, "")
	wantOutcome(t, outs[1], accounting.OutcomeRejected, chaincode.CodeBadSignature)
	wantOutcome(t, outs[2], accounting.OutcomeRecorded, "")

	must(t, b3.Ledger.UpdateProfile(ctx(t), accounting.Profile{SigningKey: b3.PublicKey}))
	back, err := b3.Ledger.Institution(ctx(t), Bank3MSP)
	must(t, err)
	if !bytes.Equal(back.SigningKey, b3.PublicKey) || back.SigningKeyFrom != p.Number {
		t.Fatalf("rotating back in period %d: current key from %d", next.Number, back.SigningKeyFrom)
	}
}
