package accounting

import (
	"bytes"
	"errors"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/chaincode"
)

// boltState adapts one bbolt transaction to chaincode.State and records the
// transaction's final writes for the log.
type boltState struct {
	tx     *bolt.Tx
	bucket *bolt.Bucket
	caller string
	txID   string
	writes map[string][]byte // nil in a query
	event  *event
}

var _ chaincode.State = (*boltState)(nil)

var errReadOnly = errors.New("accounting: write in a query")

func (s *boltState) Get(key string) ([]byte, error) {
	return s.bucket.Get([]byte(key)), nil
}

func (s *boltState) Put(key string, value []byte) error {
	if s.writes == nil {
		return errReadOnly
	}
	if len(value) == 0 {
		return errors.New("accounting: empty value")
	}
	s.writes[key] = value
	return s.bucket.Put([]byte(key), value)
}

func (s *boltState) Range(start, end string) (chaincode.Iterator, error) {
	return &boltIterator{c: s.bucket.Cursor(), start: []byte(start), end: []byte(end)}, nil
}

func (s *boltState) Caller() (string, error) { return s.caller, nil }

func (s *boltState) TxID() string { return s.txID }

func (s *boltState) SetEvent(name string, payload []byte) error {
	if s.writes == nil {
		return errReadOnly
	}
	s.event = &event{name: name, payload: payload}
	return nil
}

type boltIterator struct {
	c          *bolt.Cursor
	start, end []byte
	started    bool
	done       bool
}

func (it *boltIterator) Next() (string, []byte, bool, error) {
	if it.done {
		return "", nil, false, nil
	}
	var k, v []byte
	if !it.started {
		it.started = true
		k, v = it.c.Seek(it.start)
	} else {
		k, v = it.c.Next()
	}
	if k == nil || bytes.Compare(k, it.end) >= 0 {
		it.done = true
		return "", nil, false, nil
	}
	return string(k), v, true, nil
}

func (it *boltIterator) Close() error {
	it.done = true
	return nil
}
