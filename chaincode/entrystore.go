package chaincode

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// entryBucketSize is how many consecutive sequence numbers of one requester
// and responder in a period share one state key in a period whose entries
// are bucketed (Period.EntryBuckets). On Fabric each state write is a
// synchronous round trip from the chaincode to the peer in every
// endorsement; a node's batch holds consecutive sequence numbers, so a
// 500-entry Record writes about 17 keys instead of 500. A larger bucket
// saves little more and makes a one-entry Record rewrite more neighbours.
const entryBucketSize = 32

// prefixBucket holds the bucketed entries: ebkt/<n>/<requester>/<responder>/
// <sequence / entryBucketSize> -> the bucket's entries (encodeBucket). Up to
// the responder the key is spelt like the entry keys, so buckets sort as
// the entries they hold.
const prefixBucket = "ebkt/"

// bucketVersion is the first byte of a bucket's value.
const bucketVersion = 1

// entryState is the State every function runs on. Keys outside the entry
// range, and the entry keys of periods opened before buckets existed, pass
// through to the host. In a bucketed period it shows each entry under its
// own key, exactly as if it were stored there, while it keeps the entries in
// buckets: Get reads the entry's bucket, Put changes the bucket, Range reads
// the buckets that can hold the range's entries and returns those entries
// in key order. The functions above it are the same for both layouts. The
// buckets a transaction read are kept for its later calls, and the ones it
// changed are written once, when the function succeeded (flush).
type entryState struct {
	State
	// bucketed caches whether each period's entries are in buckets.
	bucketed map[uint64]bool
	// periods keeps the period records this transaction read from the
	// host, as read: Record needs its period once for the entries' layout
	// (isBucketed) and once for its state and prices (loadPeriod), and on
	// Fabric each read is a round trip to the peer. A record the
	// transaction writes is dropped here, so later reads go to the host
	// exactly as they would without the cache.
	periods map[string][]byte
	// buckets holds every bucket read or changed in this transaction.
	buckets map[string]*bucket
	// scanned lists bucket key ranges read to their end: a key there that
	// buckets does not hold is absent, so it is not read again.
	scanned []keyRange
}

type keyRange struct{ start, end string }

// bucket is one bucket's entries in ascending sequence order.
type bucket struct {
	seqs    []uint64
	values  [][]byte
	changed bool
}

func newEntryState(st State) *entryState {
	return &entryState{State: st, bucketed: map[uint64]bool{}, periods: map[string][]byte{}, buckets: map[string]*bucket{}}
}

// location is where an entry key of a bucketed period is kept.
type location struct {
	bucket string
	seq    uint64
}

// locate returns where key is kept if it is an entry key of a bucketed
// period; ok is false for any other key.
func (s *entryState) locate(key string) (loc location, ok bool, err error) {
	rest, isEntry := strings.CutPrefix(key, prefixEntry)
	if !isEntry {
		return location{}, false, nil
	}
	i := nthSlash(rest, 3)
	if i < 0 {
		return location{}, false, nil
	}
	period, okPeriod := leadingNum(rest)
	seq, okSeq := leadingNum(rest[i+1:])
	if !okPeriod || rest[numWidth] != '/' || !okSeq || len(rest) != i+1+numWidth {
		return location{}, false, nil
	}
	if b, err := s.isBucketed(period); err != nil || !b {
		return location{}, false, err
	}
	return location{bucket: prefixBucket + rest[:i+1] + num(seq/entryBucketSize), seq: seq}, true, nil
}

// isBucketed reports whether period's entries are in buckets; a period that
// does not exist holds no entries, so its keys pass through.
func (s *entryState) isBucketed(period uint64) (bool, error) {
	if b, ok := s.bucketed[period]; ok {
		return b, nil
	}
	raw, err := s.Get(periodKey(period))
	if err != nil {
		return false, err
	}
	var p struct {
		EntryBuckets bool `json:"entryBuckets"`
	}
	if raw != nil {
		if err := json.Unmarshal(raw, &p); err != nil {
			return false, newError(CodeInternal, "corrupted state under "+periodKey(period))
		}
	}
	s.bucketed[period] = p.EntryBuckets
	return p.EntryBuckets, nil
}

// bucket returns the bucket under key, read from the host unless this
// transaction has it already or read the range around it to its end.
func (s *entryState) bucket(key string) (*bucket, error) {
	if b, ok := s.buckets[key]; ok {
		return b, nil
	}
	b := &bucket{}
	if !s.wasScanned(key) {
		raw, err := s.State.Get(key)
		if err != nil {
			return nil, err
		}
		if raw != nil {
			if b, err = decodeBucket(key, raw); err != nil {
				return nil, err
			}
		}
	}
	s.buckets[key] = b
	return b, nil
}

func (s *entryState) wasScanned(key string) bool {
	for _, r := range s.scanned {
		if r.start <= key && key < r.end {
			return true
		}
	}
	return false
}

func (s *entryState) Get(key string) ([]byte, error) {
	loc, ok, err := s.locate(key)
	if err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return s.getPassingThrough(key)
	}
	b, err := s.bucket(loc.bucket)
	if err != nil {
		return nil, err
	}
	if i, found := slices.BinarySearch(b.seqs, loc.seq); found {
		return b.values[i], nil
	}
	return nil, nil
}

func (s *entryState) Put(key string, value []byte) error {
	loc, ok, err := s.locate(key)
	if err != nil || !ok {
		if err != nil {
			return err
		}
		delete(s.periods, key)
		return s.State.Put(key, value)
	}
	if len(value) == 0 {
		return newError(CodeInternal, "empty value for "+key)
	}
	b, err := s.bucket(loc.bucket)
	if err != nil {
		return err
	}
	v := bytes.Clone(value)
	if i, found := slices.BinarySearch(b.seqs, loc.seq); found {
		b.values[i] = v
	} else {
		b.seqs, b.values = slices.Insert(b.seqs, i, loc.seq), slices.Insert(b.values, i, v)
	}
	b.changed = true
	return nil
}

// getPassingThrough reads a key that is not a bucketed entry from the host,
// a period record at most once per transaction (periods).
func (s *entryState) getPassingThrough(key string) ([]byte, error) {
	if !strings.HasPrefix(key, prefixPeriod) {
		return s.State.Get(key)
	}
	if raw, ok := s.periods[key]; ok {
		return raw, nil
	}
	raw, err := s.State.Get(key)
	if err == nil {
		s.periods[key] = raw
	}
	return raw, err
}

// flush writes every bucket the transaction changed, in key order.
func (s *entryState) flush() error {
	var keys []string
	for k, b := range s.buckets {
		if b.changed {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := s.State.Put(k, s.buckets[k].encode()); err != nil {
			return err
		}
	}
	return nil
}

// Range over entry keys of a bucketed period reads the bucket keys that can
// hold them (bucketBound) and returns the entries in [start, end).
func (s *entryState) Range(start, end string) (Iterator, error) {
	rest, isEntry := strings.CutPrefix(start, prefixEntry)
	if !isEntry {
		return s.State.Range(start, end)
	}
	period, ok := leadingNum(rest)
	periodPrefix := prefixEntry + num(period) + "/"
	if !ok || (!strings.HasPrefix(end, periodPrefix) && end != rangeEnd(periodPrefix)) {
		return nil, newError(CodeInternal, "an entry range must lie within one period")
	}
	if b, err := s.isBucketed(period); err != nil || !b {
		if err != nil {
			return nil, err
		}
		return s.State.Range(start, end)
	}
	r := keyRange{bucketBound(start, false), bucketBound(end, true)}
	it, err := s.State.Range(r.start, r.end)
	if err != nil {
		return nil, err
	}
	return &bucketIterator{s: s, it: it, r: r, start: start, end: end}, nil
}

// bucketIterator returns the entries in [start, end) of the buckets in r.
type bucketIterator struct {
	s          *entryState
	it         Iterator
	r          keyRange
	start, end string
	// cur is the bucket being returned, prefix its entries' key prefix and
	// next the index of the next entry to return.
	cur    *bucket
	prefix string
	next   int
}

func (i *bucketIterator) Next() (string, []byte, bool, error) {
	for {
		if i.cur != nil && i.next < len(i.cur.seqs) {
			key := i.prefix + num(i.cur.seqs[i.next])
			value := i.cur.values[i.next]
			i.next++
			switch {
			case key < i.start:
				continue
			case key >= i.end: // later buckets hold only later keys
				return "", nil, false, nil
			}
			return key, value, true, nil
		}
		k, v, ok, err := i.it.Next()
		if err != nil || !ok {
			if err == nil {
				i.s.scanned = append(i.s.scanned, i.r)
			}
			return "", nil, false, err
		}
		b, cached := i.s.buckets[k]
		if !cached {
			if b, err = decodeBucket(k, v); err != nil {
				return "", nil, false, err
			}
			i.s.buckets[k] = b
		}
		i.cur, i.next = b, 0
		i.prefix = prefixEntry + k[len(prefixBucket):strings.LastIndexByte(k, '/')+1]
	}
}

func (i *bucketIterator) Close() error { return i.it.Close() }

// bucketBound maps a bound of a range of entry keys in one period to a bound
// of the bucket keys whose entries can lie in the range. Up to the
// responder's "/" both layouts spell keys alike, so a bound that ends
// before the sequence number maps as it is; a bound that holds a full
// sequence number maps to that number's bucket (included at either end);
// any other bound widens to the whole range of its requester and
// responder. The bucket range may hold more entries than the entry range,
// never fewer: the iterator drops the others.
func bucketBound(bound string, isEnd bool) string {
	rest := strings.TrimPrefix(bound, prefixEntry)
	i := nthSlash(rest, 3)
	if i < 0 {
		return prefixBucket + rest
	}
	head := prefixBucket + rest[:i+1]
	if seq, ok := leadingNum(rest[i+1:]); ok {
		if isEnd {
			return head + num(seq/entryBucketSize) + "\x00"
		}
		return head + num(seq/entryBucketSize)
	}
	if isEnd {
		return rangeEnd(head)
	}
	return head
}

// nthSlash returns the index of the n-th "/" in s, or -1.
func nthSlash(s string, n int) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			if n--; n == 0 {
				return i
			}
		}
	}
	return -1
}

// leadingNum parses the zero-padded number that s starts with.
func leadingNum(s string) (uint64, bool) {
	if len(s) < numWidth {
		return 0, false
	}
	for _, c := range []byte(s[:numWidth]) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s[:numWidth], 10, 64)
	return n, err == nil
}

// encode returns the bucket's value: bucketVersion, then for each entry in
// ascending sequence order its sequence number and the length of its
// stored value as uvarints, and the value.
func (b *bucket) encode() []byte {
	n := 1
	for _, v := range b.values {
		n += 2*binary.MaxVarintLen64 + len(v)
	}
	out := make([]byte, 1, n)
	out[0] = bucketVersion
	for i, v := range b.values {
		out = binary.AppendUvarint(out, b.seqs[i])
		out = binary.AppendUvarint(out, uint64(len(v)))
		out = append(out, v...)
	}
	return out
}

// decodeBucket parses the value stored under the bucket key key. It accepts
// exactly what encode writes for that key: at least one entry, sequence
// numbers ascending and in the key's bucket, values non-empty and within
// the input. The values are copies.
func decodeBucket(key string, raw []byte) (*bucket, error) {
	corrupted := newError(CodeInternal, "corrupted state under "+key)
	index, ok := leadingNum(key[strings.LastIndexByte(key, '/')+1:])
	if !ok || len(raw) < 2 || raw[0] != bucketVersion {
		return nil, corrupted
	}
	raw = bytes.Clone(raw[1:])
	b := &bucket{}
	for len(raw) > 0 {
		seq, n := uvarint(raw)
		if n <= 0 || seq/entryBucketSize != index || len(b.seqs) > 0 && seq <= b.seqs[len(b.seqs)-1] {
			return nil, corrupted
		}
		raw = raw[n:]
		size, n := uvarint(raw)
		if n <= 0 || size == 0 || size > uint64(len(raw)-n) {
			return nil, corrupted
		}
		raw = raw[n:]
		b.seqs, b.values = append(b.seqs, seq), append(b.values, raw[:size:size])
		raw = raw[size:]
	}
	return b, nil
}

// uvarint reads a uvarint in its shortest form, as encode writes it; n <= 0
// for anything else. A uvarint of more than one byte is the shortest
// exactly when its last byte, the value's top seven bits, is not zero.
func uvarint(b []byte) (x uint64, n int) {
	x, n = binary.Uvarint(b)
	if n > 1 && b[n-1] == 0 {
		return 0, -1
	}
	return x, n
}

// EntryBucketWrites returns the state writes that hold entries of one
// bucketed period as Record leaves them: each entry's stored JSON in the
// bucket of its key. It is for benchmarks and tools that fill a ledger
// directly; the entries must fill their buckets whole (a bucket written
// twice keeps only the second write's entries).
func EntryBucketWrites(entries []RecordedEntry) (map[string][]byte, error) {
	buckets := map[string]*bucket{}
	for i := range entries {
		k := entries[i].Key
		v, err := json.Marshal(&entries[i])
		if err != nil {
			return nil, err
		}
		bk := prefixBucket + strings.TrimSuffix(strings.TrimPrefix(k.String(), prefixEntry), num(k.Sequence)) +
			num(k.Sequence/entryBucketSize)
		b := buckets[bk]
		if b == nil {
			b = &bucket{}
			buckets[bk] = b
		}
		if i, found := slices.BinarySearch(b.seqs, k.Sequence); !found {
			b.seqs, b.values = slices.Insert(b.seqs, i, k.Sequence), slices.Insert(b.values, i, v)
		}
	}
	out := make(map[string][]byte, len(buckets))
	for k, b := range buckets {
		out[k] = b.encode()
	}
	return out, nil
}
