package chaincode

import (
	"fmt"
	"strings"
)

func (c *Contract) getEntry(st State, arg []byte) (any, error) {
	var k EntryKey
	if err := decodeArg(arg, &k); err != nil {
		return nil, err
	}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	var e RecordedEntry
	ok, err := getJSON(st, k.String(), &e)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, newError(CodeNotFound, "no entry under this key")
	}
	return &e, nil
}

// listEntries returns one page of a party's entries in a period, in key
// order. The bookmark is the last key of the previous page; it must lie in
// the queried range, so a bookmark cannot widen a query.
func (c *Contract) listEntries(st State, arg []byte) (any, error) {
	var q EntriesQuery
	if err := decodeArg(arg, &q); err != nil {
		return nil, err
	}
	if !ValidMSPID(q.Party) || q.Period == 0 {
		return nil, newError(CodeInvalidArgument, "invalid party or period")
	}
	size := q.PageSize
	if size == 0 {
		size = DefaultPageSize
	}
	if size < 0 || size > MaxPageSize {
		return nil, newError(CodeInvalidArgument, fmt.Sprintf("page size must be 1 to %d", MaxPageSize))
	}
	prefix := prefixEntry
	if q.AsResponder {
		prefix = prefixByResp
	}
	prefix += num(q.Period) + "/" + q.Party + "/"
	start := prefix
	if q.Bookmark != "" {
		if !strings.HasPrefix(q.Bookmark, prefix) || len(q.Bookmark) > len(prefix)+2*MaxMSPIDLen {
			return nil, newError(CodeInvalidArgument, "bookmark does not belong to this query")
		}
		start = q.Bookmark + "\x00"
	}
	page := &EntriesPage{Entries: []RecordedEntry{}}
	last := ""
	err := scan(st, start, rangeEnd(prefix), func(k string, v []byte) (bool, error) {
		if len(page.Entries) == size {
			page.Bookmark = last
			return false, nil
		}
		if q.AsResponder {
			// The index value is the entry's key.
			ek := string(v)
			var err error
			if v, err = st.Get(ek); err != nil {
				return false, err
			}
			if v == nil {
				return false, newError(CodeInternal, "index points at a missing entry "+ek)
			}
		}
		var e RecordedEntry
		if err := decodeStored(k, v, &e); err != nil {
			return false, err
		}
		page.Entries = append(page.Entries, e)
		last = k
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}
