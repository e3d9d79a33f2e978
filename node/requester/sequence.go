package requester

import (
	"encoding/binary"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// seqBlock is how many sequence numbers one durable reservation covers.
// Reserving a block per bbolt commit instead of one number keeps fsyncs off
// the per-request path; a crash wastes at most the rest of a block, which
// only leaves a gap (the ledger needs unique numbers, not contiguous ones).
const seqBlock = 64

var bucketSequences = []byte("requester/sequences")

// sequences hands out transcript sequence numbers, strictly increasing per
// (period, responder). A number is handed out only after a durable record
// says it, and every number below it, may have been used: after a crash the
// node continues above the record and never reuses one.
type sequences struct {
	// store logs the reservations (storelog.go).
	store *store

	mu     sync.Mutex
	leases map[seqKey]*seqLease
}

type seqKey struct {
	period    uint64
	responder string
}

// seqLease is a reserved block: next up to and including last are free.
type seqLease struct{ next, last uint64 }

func newSequences(st *store) *sequences {
	return &sequences{store: st, leases: make(map[seqKey]*seqLease)}
}

// next returns a fresh sequence number for (period, responder).
func (s *sequences) next(period uint64, responder string) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := seqKey{period, responder}
	l := s.leases[k]
	if l == nil || l.next > l.last {
		var err error
		if l, err = s.reserve(k); err != nil {
			return 0, err
		}
		s.leases[k] = l
	}
	n := l.next
	l.next++
	return n, nil
}

// reserve durably raises the high-water mark of k by seqBlock and returns
// the new block. It is a logged write: durable once its record is.
func (s *sequences) reserve(k seqKey) (*seqLease, error) {
	var l seqLease
	rec := &riskmeshv1.RequesterLogRecord{Op: &riskmeshv1.RequesterLogRecord_Reserve{
		Reserve: &riskmeshv1.RequesterLogReserve{Period: k.period, Responder: k.responder}}}
	err := s.store.commits.LogMessage(rec, func(tx *bolt.Tx) error {
		var err error
		l, err = reserveBlock(tx, k.period, k.responder)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reserve sequence numbers: %w", err)
	}
	return &l, nil
}

// reserveBlock raises the high-water mark of (period, responder) in tx by
// seqBlock and returns the block above the old one (reserve's write and
// its replay's).
func reserveBlock(tx *bolt.Tx, period uint64, responder string) (seqLease, error) {
	b := tx.Bucket(bucketSequences)
	key := periodKey(period, responder)
	var high uint64
	if v := b.Get(key); v != nil {
		if len(v) != 8 {
			return seqLease{}, fmt.Errorf("requester: corrupt sequence record of %d bytes", len(v))
		}
		high = binary.BigEndian.Uint64(v)
	}
	if high > ^uint64(0)-seqBlock {
		return seqLease{}, fmt.Errorf("requester: sequence numbers exhausted for period %d", period)
	}
	l := seqLease{next: high + 1, last: high + seqBlock}
	return l, b.Put(key, binary.BigEndian.AppendUint64(nil, l.last))
}

// forget drops the in-memory leases of periods before keep, so the map does
// not grow with every period the node lives through.
func (s *sequences) forget(keep uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.leases {
		if k.period < keep {
			delete(s.leases, k)
		}
	}
}

// periodKey is the key layout shared by the buckets indexed by period and
// party: uint64 period, then the MSP id. Big-endian periods sort the keys by
// period, so retention deletes a prefix range.
func periodKey(period uint64, msp string) []byte {
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(msp)), period), msp...)
}
