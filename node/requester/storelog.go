package requester

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/internal/groupcommit"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// The writes on a query's path (a query's creation, each rewrite with the
// parts that completed, a sequence reservation) are durable once their
// record, a RequesterLogRecord, is in the requester's log beside node.db
// (internal/groupcommit): one fdatasync instead of bbolt's two, the commit
// into node.db following off the query's path. Each write is one apply
// function, which the write runs with its record's values and Open's
// replay runs again, on the state the write first ran on, for a record a
// crash left unfolded: the two cannot write different things. A record
// therefore carries every value its write does not read from node.db:
// values already encoded and, with sealing on, sealed (sealing draws a
// nonce), the creation and recording times (docs/node-requester.md,
// "Durability").

// logName names the requester's log: node.db.requester.log.
const logName = "requester"

// committer is what the store needs of its groupcommit.Committer.
type committer interface {
	LogMessage(m proto.Message, fn func(*bolt.Tx) error) error
	Update(fn func(*bolt.Tx) error) error
	View(fn func(*bolt.Tx) error) error
	Close() error
}

var _ committer = (*groupcommit.Committer)(nil)

// errLogRecord reports a record of the requester's log that replay cannot
// apply: the file is damaged or was written by something else.
var errLogRecord = errors.New("requester: malformed log record")

// replay writes to tx what the write that logged b wrote: Open's replay of
// the requester's log. A record is decoded within the bounds of what it
// carries (stored values are read under maxRecordSize like every other).
func (s *store) replay(tx *bolt.Tx, b []byte) error {
	rec := new(riskmeshv1.RequesterLogRecord)
	if err := proto.Unmarshal(b, rec); err != nil {
		return fmt.Errorf("%w: %w", errLogRecord, err)
	}
	switch op := rec.Op.(type) {
	case *riskmeshv1.RequesterLogRecord_Create:
		c := op.Create
		if !validQueryID(c.QueryId) || len(c.ClientRequestId) > maxClientIDLen {
			return fmt.Errorf("%w: creation of a query id of %d bytes, client request id of %d", errLogRecord,
				len(c.QueryId), len(c.ClientRequestId))
		}
		_, err := s.applyCreate(tx, c)
		return err
	case *riskmeshv1.RequesterLogRecord_Update:
		u := op.Update
		if !validQueryID(u.QueryId) {
			return fmt.Errorf("%w: update of a query id of %d bytes", errLogRecord, len(u.QueryId))
		}
		b := s.bucket(tx, bucketQueries)
		switch {
		case !u.Sealed:
			b.ring = nil
		case b.ring == nil:
			return fmt.Errorf("%w: a sealed update replayed without the keyring", errLogRecord)
		}
		qr := new(riskmeshv1.QueryRecord)
		if err := b.decode([]byte(u.QueryId), u.Record, qr); err != nil {
			return fmt.Errorf("%w: %w", errLogRecord, err)
		}
		return s.applyUpdate(tx, u, qr)
	case *riskmeshv1.RequesterLogRecord_Reserve:
		r := op.Reserve
		if !names.MSPID(r.Responder) {
			return fmt.Errorf("%w: reservation for a responder of %d bytes", errLogRecord, len(r.Responder))
		}
		_, err := reserveBlock(tx, r.Period, r.Responder)
		return err
	}
	return fmt.Errorf("%w: no operation", errLogRecord)
}
