package accounting

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// settler finishes a period after done steps (never, if done is 0).
type settler struct {
	Periods
	done, calls int
	step        int // the maxEntries asked for
}

func (s *settler) Settle(_ context.Context, _ uint64, maxEntries int) (*SettleResult, error) {
	s.calls++
	s.step = maxEntries
	return &SettleResult{Done: s.calls == s.done}, nil
}

func TestSettleAll(t *testing.T) {
	s := &settler{done: 3}
	if r, err := SettleAll(t.Context(), s, 7, 50); err != nil || !r.Done || s.calls != 3 || s.step != 50 {
		t.Fatalf("got %+v, %v after %d calls of %d", r, err, s.calls, s.step)
	}
	s = &settler{}
	if _, err := SettleAll(t.Context(), s, 7, 0); err == nil || s.calls != MaxSettleSteps {
		t.Fatalf("a period never done: %v after %d calls", err, s.calls)
	}
}

// pager holds n entries, two per page; a bookmark is the next index.
type pager struct {
	Recorder
	n   int
	err error
}

func (p pager) Entries(_ context.Context, q EntriesQuery) (*EntriesPage, error) {
	if p.err != nil {
		return nil, p.err
	}
	var from int
	if q.Bookmark != "" {
		fmt.Sscan(q.Bookmark, &from)
	}
	page := &EntriesPage{}
	for i := from; i < min(p.n, from+2); i++ {
		page.Entries = append(page.Entries, RecordedEntry{Key: EntryKey{Sequence: uint64(i + 1)}})
	}
	if from+2 < p.n {
		page.Bookmark = fmt.Sprint(from + 2)
	}
	return page, nil
}

func TestAllEntries(t *testing.T) {
	got, err := AllEntries(t.Context(), pager{n: 5}, EntriesQuery{Period: 1, Party: "Bank1MSP"})
	if err != nil || len(got) != 5 || got[4].Key.Sequence != 5 {
		t.Fatalf("got %d entries, %v", len(got), err)
	}
	boom := errors.New("boom")
	if _, err := AllEntries(t.Context(), pager{err: boom}, EntriesQuery{}); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if got, err := AllEntries(t.Context(), pager{}, EntriesQuery{}); err != nil || len(got) != 0 {
		t.Fatalf("no entries: %v, %v", got, err)
	}
}

// registryBook is a registry of two institutions whose ledger holds one
// entry per party, period and side, named by the query that finds it.
type registryBook struct {
	Registry
	Recorder
}

func (registryBook) Institutions(context.Context) ([]Institution, error) {
	return []Institution{{MSPID: "Bank1MSP"}, {MSPID: "Lender2MSP"}}, nil
}

func (registryBook) Entries(_ context.Context, q EntriesQuery) (*EntriesPage, error) {
	k := EntryKey{Period: q.Period, Requester: q.Party}
	if q.AsResponder {
		k = EntryKey{Period: q.Period, Responder: q.Party}
	}
	return &EntriesPage{Entries: []RecordedEntry{{Key: k}}}, nil
}

// PeriodEntries reads one party's side, or every registered institution's.
func TestPeriodEntries(t *testing.T) {
	got, err := PeriodEntries(t.Context(), registryBook{}, 4, "", false)
	if err != nil || len(got) != 2 || got[0].Key != (EntryKey{Period: 4, Requester: "Bank1MSP"}) || got[1].Key.Requester != "Lender2MSP" {
		t.Fatalf("every party's: %+v, %v", got, err)
	}
	got, err = PeriodEntries(t.Context(), registryBook{}, 4, "Lender2MSP", true)
	if err != nil || len(got) != 1 || got[0].Key != (EntryKey{Period: 4, Responder: "Lender2MSP"}) {
		t.Fatalf("one responder's: %+v, %v", got, err)
	}
}

// ParseQualityTier reads MIN:MULTIPLIER in basis points and refuses
// anything else with the form it wants.
func TestParseQualityTier(t *testing.T) {
	got, err := ParseQualityTier("9000:12000")
	if err != nil || got != (QualityTier{MinConfirmation: 9000, Multiplier: 12000}) {
		t.Fatalf("ParseQualityTier(9000:12000) = %+v, %v", got, err)
	}
	for _, s := range []string{"", "9000", "9000:", ":12000", "x:1", "1:-2", "4294967296:1"} {
		if _, err := ParseQualityTier(s); err == nil || !strings.Contains(err.Error(), "MIN_CONFIRMATION_BP:MULTIPLIER_BP") {
			t.Errorf("ParseQualityTier(%q) = %v", s, err)
		}
	}
}
