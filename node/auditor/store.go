package auditor

import (
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

var (
	// bucketDisputes maps a dispute id (uint64 big-endian) to its
	// StoredDispute.
	bucketDisputes = []byte("auditor/disputes")
	// bucketByEntry maps a ledger entry key (accounting.EntryKey.String)
	// to the id of its dispute. One record per billed entry bounds the
	// store by the ledger, whatever a member files.
	bucketByEntry = []byte("auditor/byentry")
)

// maxRecordOverhead bounds what a stored record holds beside its transcript
// (claim, reason, checks, signatures).
const maxRecordOverhead = 64 << 10

// store keeps disputes in the auditor's bbolt file.
type store struct {
	db        *bbolt.DB
	maxRecord int
}

func openStore(db *bbolt.DB, maxTranscript int) (*store, error) {
	err := db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketDisputes, bucketByEntry} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: create buckets: %w", ErrStore, err)
	}
	return &store{db: db, maxRecord: maxTranscript + maxRecordOverhead}, nil
}

// byEntry returns the dispute of an entry, or nil.
func (s *store) byEntry(key string) (*riskmeshv1.StoredDispute, error) {
	var rec *riskmeshv1.StoredDispute
	err := s.db.View(func(tx *bbolt.Tx) error {
		id := tx.Bucket(bucketByEntry).Get([]byte(key))
		if id == nil {
			return nil
		}
		var err error
		rec, err = decodeRecord(tx.Bucket(bucketDisputes).Get(id), s.maxRecord)
		return err
	})
	return rec, err
}

// get returns dispute id, or nil if there is none.
func (s *store) get(id uint64) (*riskmeshv1.StoredDispute, error) {
	var rec *riskmeshv1.StoredDispute
	err := s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketDisputes).Get(idKey(id))
		if v == nil {
			return nil
		}
		var err error
		rec, err = decodeRecord(v, s.maxRecord)
		return err
	})
	return rec, err
}

// put stores rec as the dispute of entry key, under the entry's existing
// dispute id (a new verdict replaces the old) or the next one.
func (s *store) put(key string, rec *riskmeshv1.StoredDispute) error {
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b, idx := tx.Bucket(bucketDisputes), tx.Bucket(bucketByEntry)
		idk := idx.Get([]byte(key))
		if idk == nil {
			id, err := b.NextSequence()
			if err != nil {
				return err
			}
			idk = idKey(id)
			if err := idx.Put([]byte(key), idk); err != nil {
				return err
			}
		}
		rec.Verdict.DisputeId = binary.BigEndian.Uint64(idk)
		v, err := proto.MarshalOptions{Deterministic: true}.Marshal(rec)
		if err != nil {
			return err
		}
		return b.Put(idk, v)
	})
	if err != nil {
		return fmt.Errorf("%w: put: %w", ErrStore, err)
	}
	return nil
}

func idKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// decodeRecord parses a stored dispute, bounded before decoding, and checks
// what the service relies on: a verdict with an entry key and a response
// digest, and a transcript that parses (or none, for an upheld
// non-delivery dispute).
func decodeRecord(v []byte, maxSize int) (*riskmeshv1.StoredDispute, error) {
	if len(v) > maxSize {
		return nil, fmt.Errorf("%w: record of %d bytes exceeds %d", ErrStore, len(v), maxSize)
	}
	rec := new(riskmeshv1.StoredDispute)
	if err := proto.Unmarshal(v, rec); err != nil {
		return nil, fmt.Errorf("%w: decode record: %w", ErrStore, err)
	}
	if rec.GetVerdict().GetKey() == nil || len(rec.GetVerdict().GetResponseDigest()) != transcript.DigestSize {
		return nil, fmt.Errorf("%w: record without a verdict", ErrStore)
	}
	// A non-delivery dispute the provider produced nothing for has none,
	// and a live dispute never has one (it is judged on the live step).
	if len(rec.GetTranscript()) == 0 {
		return rec, nil
	}
	if err := checkFiled(rec.GetTranscript()); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return rec, nil
}
