package chaincode

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestListEntriesPages walks every page size over entries of several
// requesters and responders, including MSP ids that sort next to each other
// ("A", "A-x", "A0"), and checks that each party's entries come back exactly
// once, in key order, and nothing else does.
func TestListEntriesPages(t *testing.T) {
	c, err := New("Reg")
	if err != nil {
		t.Fatal(err)
	}
	st := &memState{kv: map[string][]byte{}}
	parties := []string{"A", "A-x", "A0", "B", "R", "Z"}
	var all []EntryKey
	for _, period := range []uint64{1, 2} {
		for _, req := range parties {
			for _, resp := range parties {
				for seq := uint64(1); seq <= 2 && req != resp; seq++ {
					k := EntryKey{Period: period, Requester: req, Responder: resp, Sequence: seq}
					if err := putJSON(st, k.String(), &RecordedEntry{Key: k}); err != nil {
						t.Fatal(err)
					}
					all = append(all, k)
				}
			}
		}
	}
	for _, party := range parties {
		for _, asResponder := range []bool{false, true} {
			var want []string
			for _, k := range all {
				if k.Period == 1 && (asResponder && k.Responder == party || !asResponder && k.Requester == party) {
					want = append(want, k.String())
				}
			}
			slices.Sort(want)
			for size := 1; size <= len(want)+1; size++ {
				got := listAll(t, c, st, EntriesQuery{Period: 1, Party: party, AsResponder: asResponder, PageSize: size})
				if !slices.Equal(got, want) {
					t.Fatalf("%s responder=%v page size %d: got %v, want %v", party, asResponder, size, got, want)
				}
			}
		}
	}
	if got := listAll(t, c, st, EntriesQuery{Period: 3, Party: "R", AsResponder: true}); len(got) != 0 {
		t.Fatalf("empty period listed %v", got)
	}
}

// listAll follows q's bookmarks to the last page, checking each page's size.
func listAll(t *testing.T, c *Contract, st State, q EntriesQuery) []string {
	t.Helper()
	var keys []string
	for range 1000 {
		page := listPage(t, c, st, q)
		if len(page.Entries) > q.PageSize || len(page.Entries) == 0 && page.Bookmark != "" {
			t.Fatalf("page of %d entries, size %d, bookmark %q", len(page.Entries), q.PageSize, page.Bookmark)
		}
		for _, e := range page.Entries {
			keys = append(keys, e.Key.String())
		}
		if page.Bookmark == "" {
			return keys
		}
		q.Bookmark = page.Bookmark
	}
	t.Fatal("pages do not end")
	return nil
}

func listPage(t *testing.T, c *Contract, st State, q EntriesQuery) *EntriesPage {
	t.Helper()
	arg, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Invoke(st, FnListEntries, arg)
	if err != nil {
		t.Fatal(err)
	}
	var page EntriesPage
	if err := json.Unmarshal(res, &page); err != nil {
		t.Fatal(err)
	}
	return &page
}

// TestListEntriesRejectsForeignBookmarks checks that a bookmark outside the
// queried party's range is refused rather than widening the query.
func TestListEntriesRejectsForeignBookmarks(t *testing.T) {
	c, err := New("Reg")
	if err != nil {
		t.Fatal(err)
	}
	st := &memState{kv: map[string][]byte{}}
	other := EntryKey{Period: 1, Requester: "A", Responder: "B", Sequence: 1}.String()
	for _, tc := range []struct {
		asResponder bool
		bookmark    string
	}{
		{false, other}, // requester A, queried party R
		{true, other},  // responder B, queried party R
		{true, EntryKey{Period: 2, Requester: "A", Responder: "R", Sequence: 1}.String()},
		{true, "entry/elsewhere"},
		{true, "entry/" + num(1) + "/A/R/" + num(1) + strings.Repeat("9", MaxMSPIDLen)},
		{true, "entry/" + num(1) + "/a b/R/" + num(1)},
	} {
		t.Run(fmt.Sprintf("responder=%v/%s", tc.asResponder, tc.bookmark), func(t *testing.T) {
			arg, err := json.Marshal(EntriesQuery{Period: 1, Party: "R", AsResponder: tc.asResponder, Bookmark: tc.bookmark})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Invoke(st, FnListEntries, arg); CodeOf(err) != CodeInvalidArgument {
				t.Fatalf("error %v, want %s", err, CodeInvalidArgument)
			}
		})
	}
}
