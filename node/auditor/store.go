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
	// bucketByResponse maps a transcript's response digest to the id of
	// its latest dispute.
	bucketByResponse = []byte("auditor/byresponse")
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
		for _, b := range [][]byte{bucketDisputes, bucketByResponse} {
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

// latest returns the latest dispute of the transcript with this response
// digest, or nil.
func (s *store) latest(responseDigest []byte) (*riskmeshv1.StoredDispute, error) {
	var rec *riskmeshv1.StoredDispute
	err := s.db.View(func(tx *bbolt.Tx) error {
		id := tx.Bucket(bucketByResponse).Get(responseDigest)
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

// put assigns rec the next dispute id, stores it and makes it the latest
// dispute of its transcript.
func (s *store) put(rec *riskmeshv1.StoredDispute) error {
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketDisputes)
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		rec.Verdict.DisputeId = id
		v, err := proto.MarshalOptions{Deterministic: true}.Marshal(rec)
		if err != nil {
			return err
		}
		if err := b.Put(idKey(id), v); err != nil {
			return err
		}
		return tx.Bucket(bucketByResponse).Put(rec.Verdict.ResponseDigest, idKey(id))
	})
	if err != nil {
		return fmt.Errorf("%w: put: %w", ErrStore, err)
	}
	return nil
}

func idKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// decodeRecord parses a stored dispute, bounded before decoding, and checks
// what the service relies on: a verdict with an entry key and a response
// digest, and a transcript that parses.
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
	if _, err := transcript.Parse(rec.GetTranscript()); err != nil {
		return nil, fmt.Errorf("%w: stored transcript: %w", ErrStore, err)
	}
	return rec, nil
}
