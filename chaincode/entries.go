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
//
// Entry keys start with the period and the requester, so a requester's
// entries are one key range. A responder's entries are one range per
// requester (entry/<n>/<requester>/<responder>/): the query walks the
// period's requesters in key order, jumping from one requester's keys to the
// next, and reads only the responder's range of each. There is no separate
// responder index: Record writes one key per entry and nothing else.
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
	p := &pager{st: st, size: size, page: &EntriesPage{Entries: []RecordedEntry{}}}
	periodPrefix := prefixEntry + num(q.Period) + "/"
	if !q.AsResponder {
		prefix := periodPrefix + q.Party + "/"
		start, err := bookmarkStart(q.Bookmark, prefix, MaxMSPIDLen+1+numWidth, prefix)
		if err != nil {
			return nil, err
		}
		if err := p.scan(start, rangeEnd(prefix)); err != nil {
			return nil, err
		}
		return p.page, nil
	}

	// next is where the search for the next requester starts.
	next := periodPrefix
	if q.Bookmark != "" {
		requester, _, _ := strings.Cut(strings.TrimPrefix(q.Bookmark, periodPrefix), "/")
		if !ValidMSPID(requester) {
			return nil, errForeignBookmark
		}
		prefix := periodPrefix + requester + "/" + q.Party + "/"
		start, err := bookmarkStart(q.Bookmark, prefix, numWidth, "")
		if err != nil {
			return nil, err
		}
		if err := p.scan(start, rangeEnd(prefix)); err != nil {
			return nil, err
		}
		next = rangeEnd(periodPrefix + requester + "/")
	}
	for !p.full {
		requester, err := firstRequester(st, next, rangeEnd(periodPrefix), periodPrefix)
		if err != nil {
			return nil, err
		}
		if requester == "" {
			break // no more requesters in the period
		}
		prefix := periodPrefix + requester + "/" + q.Party + "/"
		if err := p.scan(prefix, rangeEnd(prefix)); err != nil {
			return nil, err
		}
		next = rangeEnd(periodPrefix + requester + "/")
	}
	return p.page, nil
}

var errForeignBookmark = newError(CodeInvalidArgument, "bookmark does not belong to this query")

// bookmarkStart returns where a page after bookmark starts within the range
// of keys that begin with prefix: empty returns ifEmpty. A bookmark is an
// entry key, so it is the prefix plus at most maxRest bytes.
func bookmarkStart(bookmark, prefix string, maxRest int, ifEmpty string) (string, error) {
	if bookmark == "" {
		return ifEmpty, nil
	}
	if !strings.HasPrefix(bookmark, prefix) || len(bookmark) > len(prefix)+maxRest {
		return "", errForeignBookmark
	}
	return bookmark + "\x00", nil
}

// firstRequester returns the requester of the first entry key in
// [start, end), or "" if the range is empty. Every key there begins with
// periodPrefix.
func firstRequester(st State, start, end, periodPrefix string) (string, error) {
	requester := ""
	err := scan(st, start, end, func(k string, _ []byte) (bool, error) {
		r, _, ok := strings.Cut(strings.TrimPrefix(k, periodPrefix), "/")
		if !ok || !ValidMSPID(r) {
			return false, newError(CodeInternal, "malformed entry key "+k)
		}
		requester = r
		return false, nil
	})
	return requester, err
}

// pager collects one page of entries from one or more key ranges read in
// ascending key order.
type pager struct {
	st   State
	size int
	page *EntriesPage
	last string // key of the page's last entry
	full bool   // the page is full and another entry follows it
}

func (p *pager) scan(start, end string) error {
	return scan(p.st, start, end, func(k string, v []byte) (bool, error) {
		if len(p.page.Entries) == p.size {
			p.page.Bookmark, p.full = p.last, true
			return false, nil
		}
		var e RecordedEntry
		if err := decodeStored(k, v, &e); err != nil {
			return false, err
		}
		p.page.Entries = append(p.page.Entries, e)
		p.last = k
		return true, nil
	})
}
