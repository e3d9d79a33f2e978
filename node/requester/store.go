package requester

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/groupcommit"
	"github.com/riskmesh/riskmesh/internal/largevalue"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Buckets of the node's bbolt file this package owns.
var (
	// bucketQueries maps a query id to its QueryRecord (protobuf).
	// The values of sealedBuckets are sealed with sealing on.
	bucketQueries = []byte("requester/queries")
	// bucketQueryTimes indexes queries by creation: uint64 unix nanoseconds,
	// then the query id; the value is empty. ListQueries walks it backwards.
	bucketQueryTimes = []byte("requester/query-times")
	// bucketClientIDs maps a client_request_id to its query id.
	bucketClientIDs = []byte("requester/client-ids")
	// bucketPending holds, for each RUNNING query, what a final result
	// needs that the record does not carry (per-item invalid reasons and
	// the providers asked), as a QueryResult. Deleted on completion.
	bucketPending = []byte("requester/pending")
	// bucketTranscripts maps (period, responder, sequence) to the
	// psi/transcript file encoding of the exchange, each in a child
	// bucket of its own (internal/largevalue): a 1,000-item exchange's is
	// about 66 KB, and the result commit that stores it should not write
	// the transcripts stored before it again.
	bucketTranscripts = []byte("requester/transcripts")
	// bucketSpend maps a period to this node's billed spend in it (int64).
	bucketSpend = []byte("requester/spend")
	// bucketReconcile maps a billed entry, keyed as its transcript, to its
	// ReconcileRecord (reconcile.go).
	bucketReconcile = []byte("requester/reconcile")
	// bucketReconcilePasses maps a period to when reconciliation last read
	// all its entries (uint64 unix nanoseconds).
	bucketReconcilePasses = []byte("requester/reconcile-passes")
)

var allBuckets = [][]byte{bucketQueries, bucketQueryTimes, bucketClientIDs, bucketPending,
	bucketTranscripts, bucketSpend, bucketSequences, bucketReconcile, bucketReconcilePasses, bucketLive}

// Bounds of what the store reads back. The file is the node's own, but a
// corrupt or foreign value must not make the node allocate without limit.
const (
	// maxQueryIDLen bounds query ids (QueryAccepted promises at most 64).
	maxQueryIDLen = 64
	// maxClientIDLen bounds client_request_id (node.proto: 1 to 64 bytes).
	maxClientIDLen = 64
	// timeKeyLen is the fixed part of a bucketQueryTimes key.
	timeKeyLen = 8
)

// store persists queries, transcripts and spend in the node's bbolt file.
type store struct {
	db *bolt.DB
	// commits writes what is on a query's path (create, update, sequence
	// reservations) through the requester's log and groups the writes of
	// concurrent queries into shared commits (storelog.go); every read of
	// what those writes store goes through its View. Writes a caller waits
	// for off that path (a late answer, a reconciliation record, a live
	// step, outcome feedback) go through its Update, which folds the log's
	// held transaction at once instead of waiting up to FoldAfter behind it
	// for bbolt's writer; housekeeping (prunes) writes db directly.
	commits committer
	// now stamps the push events an update journals (Config.Now).
	now func() time.Time
	// ring seals the values of sealedBuckets; nil: sealing off.
	ring *seal.Keyring
	// recorded is Config.Recorded: it journals the event of each change
	// in the transaction that records the change.
	recorded func(*bolt.Tx, *riskmeshv1.PushEvent) error
	// pruned is Config.Pruned, called in the transaction of each prune.
	pruned func(tx *bolt.Tx, queryIDs []string, minPeriod uint64) error
}

// openStore creates the requester's buckets in db and opens its log,
// replaying what a crash left unfolded (storelog.go).
func openStore(db *bolt.DB, ring *seal.Keyring, now func() time.Time, recorded func(*bolt.Tx, *riskmeshv1.PushEvent) error,
	pruned func(*bolt.Tx, []string, uint64) error) (*store, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("requester: open store: %w", err)
	}
	s := &store{db: db, now: now, ring: ring, recorded: recorded, pruned: pruned}
	c, err := groupcommit.Open(db, logName, s.replay)
	if err != nil {
		return nil, fmt.Errorf("requester: open log: %w", err)
	}
	s.commits = c
	return s, nil
}

// emit hands ev, a change to query rec, to s.recorded inside tx.
func (s *store) emit(tx *bolt.Tx, rec *riskmeshv1.QueryRecord, ev *riskmeshv1.PushEvent) error {
	if s.recorded == nil {
		return nil
	}
	ev.QueryId, ev.Category, ev.ClientRequestId = rec.QueryId, rec.Category, rec.ClientRequestId
	return s.recorded(tx, ev)
}

// emitReconciled hands the change of entry k's reconciliation record to
// s.recorded inside tx if its state differs from the one stored before.
func (s *store) emitReconciled(tx *bolt.Tx, k accounting.EntryKey, rec *riskmeshv1.ReconcileRecord) error {
	if s.recorded == nil {
		return nil
	}
	old := new(riskmeshv1.ReconcileRecord)
	if getProto(s.bucket(tx, bucketReconcile), transcriptKey(k.Period, k.Responder, k.Sequence), old) == nil && old.State == rec.State {
		return nil
	}
	key := &riskmeshv1.EntryKey{Period: k.Period, Requester: k.Requester, Responder: k.Responder, Sequence: k.Sequence}
	return s.recorded(tx, &riskmeshv1.PushEvent{Type: riskmeshv1.PushEventType_PUSH_EVENT_TYPE_RECONCILED,
		Reconciled: &riskmeshv1.ReconciledEntry{Key: key, Amount: rec.Amount, State: rec.State, Note: rec.Note}})
}

func timeKey(created time.Time, id string) []byte {
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, timeKeyLen+len(id)), uint64(created.UnixNano())), id...)
}

func transcriptKey(period uint64, responder string, seq uint64) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 8+1+len(responder)+8), period)
	k = append(k, byte(len(responder)))
	k = append(k, responder...)
	return binary.BigEndian.AppendUint64(k, seq)
}

// create stores a new RUNNING query with its pending part and, if set, its
// client request id, unless that client request id already names a query:
// then it stores nothing and returns that query's id. The check and the
// creation are one transaction, so concurrent creates with one client
// request id make one query, whichever commit they share. It is durable
// once its record is in the requester's log (storelog.go).
func (s *store) create(rec *riskmeshv1.QueryRecord, pending *riskmeshv1.QueryResult) (earlier string, err error) {
	op := &riskmeshv1.RequesterLogCreate{QueryId: rec.QueryId, ClientRequestId: rec.ClientRequestId,
		CreatedUnixNano: rec.CreatedAt.AsTime().UnixNano()}
	if op.Record, err = s.encode(bucketQueries, []byte(rec.QueryId), rec); err != nil {
		return "", err
	}
	if op.Pending, err = s.encode(bucketPending, []byte(rec.QueryId), pending); err != nil {
		return "", err
	}
	err = s.commits.LogMessage(&riskmeshv1.RequesterLogRecord{Op: &riskmeshv1.RequesterLogRecord_Create{Create: op}}, func(tx *bolt.Tx) error {
		var err error
		earlier, err = s.applyCreate(tx, op)
		return err
	})
	return earlier, err
}

// applyCreate writes op, a creation, to tx (create's write and its
// replay's), and returns the query op's client request id already names,
// having written nothing then.
func (s *store) applyCreate(tx *bolt.Tx, op *riskmeshv1.RequesterLogCreate) (earlier string, err error) {
	if op.ClientRequestId != "" {
		if v := tx.Bucket(bucketClientIDs).Get([]byte(op.ClientRequestId)); v != nil {
			return string(v), nil
		}
	}
	id := []byte(op.QueryId)
	if err := s.bucket(tx, bucketQueries).putStored(id, op.Record); err != nil {
		return "", err
	}
	if err := s.bucket(tx, bucketPending).putStored(id, op.Pending); err != nil {
		return "", err
	}
	if err := tx.Bucket(bucketQueryTimes).Put(timeKey(time.Unix(0, op.CreatedUnixNano), op.QueryId), nil); err != nil {
		return "", err
	}
	if op.ClientRequestId != "" {
		return "", tx.Bucket(bucketClientIDs).Put([]byte(op.ClientRequestId), id)
	}
	return "", nil
}

// saved is one provider's completed part with what it adds to the store.
type saved struct {
	transcripts []*transcript.Transcript
	spend       int64 // billed tokens to add to the period's spend
}

// update rewrites a query record and, in the same transaction, stores the
// transcripts and spend of the provider parts that completed, so that a
// crash cannot keep one without the other. added[i], the result of the part
// parts[i] saves, is one of rec's ProviderResults and has its
// PROVIDER_RESULT event journalled, in order; done means rec is finished:
// the pending part is deleted and the merged result's event journalled
// after the parts'. Parts that complete together and the finish are one
// commit, not one each (docs/node-requester.md, "Durability"), durable
// once its record is in the requester's log (storelog.go).
func (s *store) update(rec *riskmeshv1.QueryRecord, parts []saved, added []*riskmeshv1.ProviderResult, done bool) error {
	op := &riskmeshv1.RequesterLogUpdate{QueryId: rec.QueryId, Period: rec.Period, Done: done,
		RecordedUnixNano: s.now().UnixNano(), Sealed: s.ring != nil}
	for _, pr := range added {
		i := slices.Index(rec.ProviderResults, pr)
		if i < 0 {
			return fmt.Errorf("requester: update of query %s adds a part that is not in its record", rec.QueryId)
		}
		op.Added = append(op.Added, uint32(i))
	}
	var err error
	if op.Record, err = s.encode(bucketQueries, []byte(rec.QueryId), rec); err != nil {
		return err
	}
	for _, part := range parts {
		ts, err := s.encodeTranscripts(part.transcripts)
		if err != nil {
			return err
		}
		op.Transcripts = append(op.Transcripts, ts...)
		op.Spend += part.spend
	}
	return s.commits.LogMessage(&riskmeshv1.RequesterLogRecord{Op: &riskmeshv1.RequesterLogRecord_Update{Update: op}}, func(tx *bolt.Tx) error {
		return s.applyUpdate(tx, op, rec)
	})
}

// applyUpdate writes op, a rewrite of rec, to tx (update's write and its
// replay's): the events of the parts op adds and, if done, of the result,
// from rec; then rec as op stores it, its transcripts and spend.
func (s *store) applyUpdate(tx *bolt.Tx, op *riskmeshv1.RequesterLogUpdate, rec *riskmeshv1.QueryRecord) error {
	at := timestamppb.New(time.Unix(0, op.RecordedUnixNano))
	for _, i := range op.Added {
		if int(i) >= len(rec.ProviderResults) {
			return fmt.Errorf("requester: logged update adds part %d of %d", i, len(rec.ProviderResults))
		}
		ev := &riskmeshv1.PushEvent{Type: riskmeshv1.PushEventType_PUSH_EVENT_TYPE_PROVIDER_RESULT,
			ProviderResult: rec.ProviderResults[i], RecordedAt: at}
		if err := s.emit(tx, rec, ev); err != nil {
			return err
		}
	}
	if op.Done {
		ev := &riskmeshv1.PushEvent{Type: riskmeshv1.PushEventType_PUSH_EVENT_TYPE_QUERY_RESULT, Result: rec.Result, RecordedAt: at}
		if err := s.emit(tx, rec, ev); err != nil {
			return err
		}
	}
	id := []byte(op.QueryId)
	if err := s.bucket(tx, bucketQueries).putStored(id, op.Record); err != nil {
		return err
	}
	tb := s.bucket(tx, bucketTranscripts)
	for _, t := range op.Transcripts {
		if err := tb.putStored(t.Key, t.Value); err != nil {
			return err
		}
	}
	if op.Spend != 0 {
		if err := addSpend(tx.Bucket(bucketSpend), op.Period, op.Spend); err != nil {
			return err
		}
	}
	if op.Done {
		return tx.Bucket(bucketPending).Delete(id)
	}
	return nil
}

// replaceResult replaces the part of pr.Provider in a finished query's
// record with pr (a late answer changed it), with pr's LateChange, if set,
// naming what the Query stream reported, rebuilds the merged result,
// stores the part's transcripts and adds the change in the provider's
// amount to the period's spend, in one transaction: a reader sees the
// record before or after, and applying the same pr again changes nothing.
// It returns the spend added. A query no longer stored (retention) is left
// alone.
func (s *store) replaceResult(id string, pr *riskmeshv1.ProviderResult, ts []*transcript.Transcript) (int64, error) {
	var added int64
	err := s.commits.Update(func(tx *bolt.Tx) error {
		queries := s.bucket(tx, bucketQueries)
		rec := new(riskmeshv1.QueryRecord)
		switch err := getProto(queries, []byte(id), rec); {
		case errors.Is(err, ErrNotFound):
			return nil
		case err != nil:
			return err
		}
		i := slices.IndexFunc(rec.ProviderResults, func(p *riskmeshv1.ProviderResult) bool { return p.Provider == pr.Provider })
		if i < 0 || rec.State == riskmeshv1.QueryState_QUERY_STATE_RUNNING {
			return fmt.Errorf("query %s has no finished part of %s", id, pr.Provider)
		}
		old := rec.ProviderResults[i]
		added = pr.Amount - old.Amount
		if pr.LateChange != nil {
			pr = proto.Clone(pr).(*riskmeshv1.ProviderResult)
			pr.LateChange.PreviousStatus, pr.LateChange.PreviousAmount = old.Status, old.Amount
			if prev := old.GetLateChange(); prev != nil { // what the stream reported stays
				pr.LateChange.PreviousStatus, pr.LateChange.PreviousAmount = prev.PreviousStatus, prev.PreviousAmount
			}
		}
		rec.ProviderResults[i] = pr
		refinish(rec)
		if err := putProto(queries, []byte(id), rec); err != nil {
			return err
		}
		if err := s.emit(tx, rec, &riskmeshv1.PushEvent{Type: riskmeshv1.PushEventType_PUSH_EVENT_TYPE_QUERY_CHANGED,
			ProviderResult: pr, Result: rec.Result}); err != nil {
			return err
		}
		if err := s.putTranscripts(tx, ts); err != nil {
			return err
		}
		if added != 0 {
			return addSpend(tx.Bucket(bucketSpend), rec.Period, added)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// putTranscripts stores transcripts under their exchange's key.
func (s *store) putTranscripts(tx *bolt.Tx, ts []*transcript.Transcript) error {
	vs, err := s.encodeTranscripts(ts)
	if err != nil {
		return err
	}
	b := s.bucket(tx, bucketTranscripts)
	for _, v := range vs {
		if err := b.putStored(v.Key, v.Value); err != nil {
			return err
		}
	}
	return nil
}

// encodeTranscripts returns ts as the transcripts bucket stores them: each
// in its file encoding, sealed with sealing on, under its exchange's key.
func (s *store) encodeTranscripts(ts []*transcript.Transcript) ([]*riskmeshv1.RequesterLogValue, error) {
	out := make([]*riskmeshv1.RequesterLogValue, len(ts))
	for i, t := range ts {
		enc, err := t.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("encode transcript: %w", err)
		}
		key := transcriptKey(t.Header.Period, t.Header.Responder, t.Header.Sequence)
		if enc, err = s.seal(bucketTranscripts, key, enc); err != nil {
			return nil, err
		}
		out[i] = &riskmeshv1.RequesterLogValue{Key: key, Value: enc}
	}
	return out, nil
}

func addSpend(b *bolt.Bucket, period uint64, amount int64) error {
	key := binary.BigEndian.AppendUint64(nil, period)
	var cur int64
	if v := b.Get(key); len(v) == 8 {
		cur = int64(binary.BigEndian.Uint64(v))
	}
	return b.Put(key, binary.BigEndian.AppendUint64(nil, uint64(cur+amount)))
}

// spend returns the recorded spend per period.
func (s *store) spend() (map[uint64]int64, error) {
	out := make(map[uint64]int64)
	err := s.commits.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSpend).ForEach(func(k, v []byte) error {
			if len(k) == 8 && len(v) == 8 {
				out[binary.BigEndian.Uint64(k)] = int64(binary.BigEndian.Uint64(v))
			}
			return nil
		})
	})
	return out, err
}

// dropSpend forgets the spend of settled periods: the ledger balance now
// includes it.
func (s *store) dropSpend(periods []uint64) error {
	if len(periods) == 0 {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSpend)
		for _, p := range periods {
			if err := b.Delete(binary.BigEndian.AppendUint64(nil, p)); err != nil {
				return err
			}
		}
		return nil
	})
}

// get returns a persisted query.
func (s *store) get(id string) (*riskmeshv1.QueryRecord, error) {
	if id == "" || len(id) > maxQueryIDLen {
		return nil, fmt.Errorf("%w: query id of %d bytes", ErrNotFound, len(id))
	}
	rec := new(riskmeshv1.QueryRecord)
	err := s.commits.View(func(tx *bolt.Tx) error {
		return getProto(s.bucket(tx, bucketQueries), []byte(id), rec)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// transcript returns a stored transcript.
func (s *store) transcript(period uint64, responder string, seq uint64) (*transcript.Transcript, error) {
	return s.transcriptIn(s.commits.View, period, responder, seq)
}

// foldedTranscript is transcript as node.db holds it, without bringing the
// log's fold forward: a transcript logged since the last fold is not
// found. A reconciliation pass reads its entries' transcripts this way
// after one fold per page (settle), as each read through the committer
// folds whatever queries logged since the one before.
func (s *store) foldedTranscript(period uint64, responder string, seq uint64) (*transcript.Transcript, error) {
	return s.transcriptIn(s.db.View, period, responder, seq)
}

func (s *store) transcriptIn(view func(func(*bolt.Tx) error) error, period uint64, responder string, seq uint64) (*transcript.Transcript, error) {
	var t *transcript.Transcript
	err := view(func(tx *bolt.Tx) error {
		v, err := s.bucket(tx, bucketTranscripts).get(transcriptKey(period, responder, seq))
		if err != nil {
			return err
		}
		if v == nil {
			return &notFoundError{fmt.Sprintf("transcript of exchange %d of period %d with %s", seq, period, responder)}
		}
		t, err = transcript.Parse(v)
		return err
	})
	return t, err
}

// settle brings forward the fold of every write logged before it: node.db
// then holds them all.
func (s *store) settle() error {
	return groupcommit.Settle(s.commits)
}

// listFilter selects ListQueries' queries.
type listFilter struct {
	category string
	since    time.Time // zero: no lower bound
	size     int
	after    []byte // page token's time key; nil: from the newest
}

// list returns up to f.size records newest first, and the time key of the
// last one if more may follow.
func (s *store) list(f listFilter) ([]*riskmeshv1.QueryRecord, []byte, error) {
	var (
		out  []*riskmeshv1.QueryRecord
		next []byte
	)
	err := s.commits.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketQueryTimes).Cursor()
		queries := s.bucket(tx, bucketQueries)
		var k []byte
		if f.after == nil {
			k, _ = c.Last()
		} else {
			// Seek lands on the token's key or the first after it; step
			// back from there to the first key strictly before it.
			k, _ = c.Seek(f.after)
			if k == nil {
				k, _ = c.Last()
			}
			for k != nil && bytes.Compare(k, f.after) >= 0 {
				k, _ = c.Prev()
			}
		}
		for ; k != nil; k, _ = c.Prev() {
			if len(k) <= timeKeyLen {
				continue
			}
			if !f.since.IsZero() && int64(binary.BigEndian.Uint64(k)) < f.since.UnixNano() {
				break
			}
			rec := new(riskmeshv1.QueryRecord)
			if err := getProto(queries, k[timeKeyLen:], rec); err != nil {
				continue // an index entry without its record (damaged file): skip
			}
			if f.category != "" && rec.Category != f.category {
				continue
			}
			if len(out) == f.size { // there is at least one more
				last := out[len(out)-1]
				next = timeKey(last.CreatedAt.AsTime(), last.QueryId)
				break
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, next, err
}

// encodePageToken and decodePageToken make the opaque page token: the
// base64url time key of the last query of the previous page.
func encodePageToken(k []byte) string { return base64.RawURLEncoding.EncodeToString(k) }

// maxPageToken bounds a page token before it is decoded.
var maxPageToken = base64.RawURLEncoding.EncodedLen(timeKeyLen + maxQueryIDLen)

func decodePageToken(tok string) ([]byte, error) {
	if len(tok) > maxPageToken {
		return nil, fmt.Errorf("%w: page token of %d bytes", ErrInvalidArgument, len(tok))
	}
	k, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(k) <= timeKeyLen || !validQueryID(string(k[timeKeyLen:])) {
		return nil, fmt.Errorf("%w: malformed page token", ErrInvalidArgument)
	}
	return k, nil
}

// validQueryID reports whether s could be a query id this package issued.
func validQueryID(s string) bool {
	return len(s) <= maxQueryIDLen && names.Word(s, maxQueryIDLen)
}

// running returns the records left RUNNING with their pending parts.
func (s *store) running() ([]*riskmeshv1.QueryRecord, []*riskmeshv1.QueryResult, error) {
	var (
		recs []*riskmeshv1.QueryRecord
		pend []*riskmeshv1.QueryResult
	)
	err := s.commits.View(func(tx *bolt.Tx) error {
		queries := s.bucket(tx, bucketQueries)
		return tx.Bucket(bucketPending).ForEach(func(k, _ []byte) error {
			rec, p := new(riskmeshv1.QueryRecord), new(riskmeshv1.QueryResult)
			if err := getProto(queries, k, rec); err != nil {
				return err
			}
			if err := getProto(s.bucket(tx, bucketPending), k, p); err != nil {
				return err
			}
			recs, pend = append(recs, rec), append(pend, p)
			return nil
		})
	})
	return recs, pend, err
}

// prune deletes queries created before olderThan and transcripts (with
// sequence and reconciliation records) of periods before minPeriod. It returns how many of each it deleted.
func (s *store) prune(olderThan time.Time, minPeriod uint64) (queries, transcripts int, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		var ids []string
		times, qs, cids := tx.Bucket(bucketQueryTimes), s.bucket(tx, bucketQueries), tx.Bucket(bucketClientIDs)
		c := times.Cursor()
		for k, _ := c.First(); len(k) >= timeKeyLen &&
			int64(binary.BigEndian.Uint64(k)) < olderThan.UnixNano(); k, _ = c.First() {
			id := k[timeKeyLen:]
			rec := new(riskmeshv1.QueryRecord)
			if getProto(qs, id, rec) == nil && rec.ClientRequestId != "" {
				if err := cids.Delete([]byte(rec.ClientRequestId)); err != nil {
					return err
				}
			}
			if err := qs.Delete(id); err != nil {
				return err
			}
			if err := tx.Bucket(bucketPending).Delete(id); err != nil {
				return err
			}
			if err := c.Delete(); err != nil {
				return err
			}
			if s.pruned != nil {
				ids = append(ids, string(id))
			}
			queries++
		}
		if transcripts, err = deleteBefore(tx.Bucket(bucketTranscripts), minPeriod); err != nil {
			return err
		}
		for _, b := range [][]byte{bucketSequences, bucketReconcile, bucketReconcilePasses, bucketLive} {
			if _, err := deleteBefore(tx.Bucket(b), minPeriod); err != nil {
				return err
			}
		}
		if s.pruned != nil {
			return s.pruned(tx, ids, minPeriod)
		}
		return nil
	})
	return queries, transcripts, err
}

// deleteBefore deletes the keys of a period-keyed bucket whose period is
// below minPeriod, plain values and internal/largevalue's alike.
func deleteBefore(b *bolt.Bucket, minPeriod uint64) (int, error) {
	limit := binary.BigEndian.AppendUint64(nil, minPeriod)
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k, limit) < 0; k, _ = c.First() {
		if err := largevalue.Delete(b, bytes.Clone(k)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// maxRecordSize bounds a stored protobuf value read back.
const maxRecordSize = 64 << 20

// bucket is a bbolt bucket with what sealing its values needs (its name
// and, for a bucket of sealedBuckets with sealing on, the keyring) and how
// it lays its values out: large is set for bucketTranscripts, whose values
// each live in a child bucket of their own (internal/largevalue).
type bucket struct {
	*bolt.Bucket
	name  []byte
	ring  *seal.Keyring
	large bool
}

// sealedBuckets hold values that name customers' identifiers or their
// blinded forms, or what the business reported on each customer's hits,
// sealed at rest with sealing on (docs/operations.md, "Sealing node.db");
// keys are query ids, providers, item indexes and (period, responder,
// sequence), which name no identifier.
var sealedBuckets = [][]byte{bucketQueries, bucketPending, bucketTranscripts, bucketFeedbackHits, bucketFeedbackParts}

func (s *store) bucket(tx *bolt.Tx, name []byte) bucket {
	return bucket{Bucket: tx.Bucket(name), name: name, ring: s.ringOf(name), large: bytes.Equal(name, bucketTranscripts)}
}

// ringOf is the keyring that seals the values of bucket name: nil (plain)
// unless sealing is on and name is one of sealedBuckets.
func (s *store) ringOf(name []byte) *seal.Keyring {
	if slices.ContainsFunc(sealedBuckets, func(n []byte) bool { return bytes.Equal(n, name) }) {
		return s.ring
	}
	return nil
}

// seal returns v as bucket name stores it under key, outside any
// transaction: a logged write seals once and puts the same bytes in its
// record and in the bucket (storelog.go).
func (s *store) seal(name, key, v []byte) ([]byte, error) {
	return s.ringOf(name).SealValue(name, key, v)
}

// encode returns m as bucket name stores it under key (seal).
func (s *store) encode(name, key []byte, m proto.Message) ([]byte, error) {
	v, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	return s.seal(name, key, v)
}

// put seals v for key (with sealing on) and stores it.
func (b bucket) put(key, v []byte) error {
	v, err := b.ring.SealValue(b.name, key, v)
	if err != nil {
		return err
	}
	return b.putStored(key, v)
}

// putStored stores v under key as it is (sealed already with sealing on).
func (b bucket) putStored(key, v []byte) error {
	if b.large {
		return largevalue.Put(b.Bucket, key, v)
	}
	return b.Put(key, v)
}

// stored returns the value stored under key as it is on disk (sealed with
// sealing on), nil if there is none.
func (b bucket) stored(key []byte) []byte {
	if b.large {
		return largevalue.Get(b.Bucket, key)
	}
	return b.Get(key)
}

// get returns the opened value under key, nil if there is none. A value
// moved from another key does not open (seal.ErrOpen).
func (b bucket) get(key []byte) ([]byte, error) {
	v := b.stored(key)
	if v == nil {
		return nil, nil
	}
	return b.open(key, v)
}

// open opens v, the value stored under key.
func (b bucket) open(key, v []byte) ([]byte, error) {
	v, err := b.ring.OpenValue(b.name, key, v)
	if err != nil {
		return nil, fmt.Errorf("requester: stored value in %s: %w", b.name, err)
	}
	return v, nil
}

func putProto(b bucket, key []byte, m proto.Message) error {
	v, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	return b.put(key, v)
}

func getProto(b bucket, key []byte, m proto.Message) error {
	v := b.stored(key)
	if v == nil {
		return ErrNotFound
	}
	return b.decode(key, v, m)
}

// decode opens v, the value stored under key, into m, within the bound
// every stored value is read under.
func (b bucket) decode(key, v []byte, m proto.Message) error {
	v, err := b.open(key, v)
	if err != nil {
		return err
	}
	if len(v) > maxRecordSize {
		return fmt.Errorf("requester: stored %s of %d bytes", m.ProtoReflect().Descriptor().Name(), len(v))
	}
	if err := proto.Unmarshal(v, m); err != nil {
		return fmt.Errorf("requester: decode stored %s: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	return nil
}

// reconcileRecord returns the reconciliation record of entry k, nil if
// there is none yet. It reads node.db directly: reconciliation records are
// written through Update only, never logged, so node.db holds every one
// and the read need not bring the log's fold forward.
func (s *store) reconcileRecord(k accounting.EntryKey) (*riskmeshv1.ReconcileRecord, error) {
	rec := new(riskmeshv1.ReconcileRecord)
	err := s.db.View(func(tx *bolt.Tx) error {
		return getProto(s.bucket(tx, bucketReconcile), transcriptKey(k.Period, k.Responder, k.Sequence), rec)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return rec, err
}

// entryRecord is a reconciliation record to store: a new entry's, or one
// whose state or note changed.
type entryRecord struct {
	key accounting.EntryKey
	rec *riskmeshv1.ReconcileRecord
}

// putReconciles stores recs, each with the push event of a state change,
// in one transaction: a reconciliation pass writes a page of entries at
// once rather than waiting for node.db's writer once per entry.
func (s *store) putReconciles(recs []entryRecord) error {
	if len(recs) == 0 {
		return nil
	}
	return s.commits.Update(func(tx *bolt.Tx) error {
		for _, r := range recs {
			if err := s.putReconcileTx(tx, r.key, r.rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// putReconcileTx stores rec as entry k's reconciliation record in tx, with
// the push event of its state change.
func (s *store) putReconcileTx(tx *bolt.Tx, k accounting.EntryKey, rec *riskmeshv1.ReconcileRecord) error {
	if err := s.emitReconciled(tx, k, rec); err != nil {
		return err
	}
	return putProto(s.bucket(tx, bucketReconcile), transcriptKey(k.Period, k.Responder, k.Sequence), rec)
}

func (s *store) putReconcilePass(period uint64, at time.Time) error {
	return s.commits.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketReconcilePasses).Put(binary.BigEndian.AppendUint64(nil, period),
			binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano())))
	})
}

// parseReconcileKey splits a bucketReconcile key (transcriptKey) into the
// entry key of requester.
func parseReconcileKey(k []byte, requester string) (accounting.EntryKey, bool) {
	if len(k) < 8+1+8 || int(k[8]) != len(k)-8-1-8 {
		return accounting.EntryKey{}, false
	}
	return accounting.EntryKey{Period: binary.BigEndian.Uint64(k), Requester: requester,
		Responder: string(k[9 : len(k)-8]), Sequence: binary.BigEndian.Uint64(k[len(k)-8:])}, true
}

// unsettledReconciles returns the entries of periods before period still
// PENDING or DISPUTED: their outcome may still change on the ledger.
func (s *store) unsettledReconciles(before uint64, requester string) ([]accounting.EntryKey, error) {
	var out []accounting.EntryKey
	end := binary.BigEndian.AppendUint64(nil, before)
	err := s.commits.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketReconcile).Cursor()
		for k, v := c.First(); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
			rec := new(riskmeshv1.ReconcileRecord)
			if len(v) > maxRecordSize || proto.Unmarshal(v, rec) != nil {
				continue // a damaged record: skipped, not fatal
			}
			key, ok := parseReconcileKey(k, requester)
			if ok && (rec.State == riskmeshv1.ReconcileState_RECONCILE_STATE_PENDING ||
				rec.State == riskmeshv1.ReconcileState_RECONCILE_STATE_DISPUTED) {
				out = append(out, key)
			}
		}
		return nil
	})
	return out, err
}

// recoverEntry stores a redelivered transcript of billed entry e with its
// reconciliation record and, if the transcript was not kept yet, adds the
// entry's amount to the period's spend and to the parts of the queries that
// sent the exchange (their LateChange says so), in one transaction. It
// returns the spend added.
func (s *store) recoverEntry(e *accounting.RecordedEntry, t *transcript.Transcript, rec *riskmeshv1.ReconcileRecord, now time.Time) (int64, error) {
	k := e.Key
	var added int64
	err := s.commits.Update(func(tx *bolt.Tx) error {
		if err := s.putReconcileTx(tx, k, rec); err != nil {
			return err
		}
		if s.bucket(tx, bucketTranscripts).stored(transcriptKey(k.Period, k.Responder, k.Sequence)) != nil {
			return nil
		}
		if err := s.putTranscripts(tx, []*transcript.Transcript{t}); err != nil {
			return err
		}
		added = e.Amount
		if err := addSpend(tx.Bucket(bucketSpend), k.Period, added); err != nil {
			return err
		}
		return s.chargeQueries(tx, e, now)
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// chargeQueries adds billed entry e to the parts of the stored queries of
// its period that sent its exchange: each is billed its share of the
// entry's items, and says the change came from reconciliation (the hits
// stay unknown: the blinds are gone). Queries are walked newest first and
// the walk stops at the first of an earlier period.
func (s *store) chargeQueries(tx *bolt.Tx, e *accounting.RecordedEntry, now time.Time) error {
	k := e.Key
	queries := s.bucket(tx, bucketQueries)
	c := tx.Bucket(bucketQueryTimes).Cursor()
	for tk, _ := c.Last(); tk != nil; tk, _ = c.Prev() {
		if len(tk) <= timeKeyLen {
			continue
		}
		id := tk[timeKeyLen:]
		rec := new(riskmeshv1.QueryRecord)
		if getProto(queries, id, rec) != nil || rec.Period > k.Period {
			continue
		}
		if rec.Period < k.Period {
			return nil
		}
		part := chargePart(rec, e, now)
		if part == nil {
			continue
		}
		if rec.State != riskmeshv1.QueryState_QUERY_STATE_RUNNING {
			refinish(rec)
		}
		if err := putProto(queries, id, rec); err != nil {
			return err
		}
		if err := s.emit(tx, rec, &riskmeshv1.PushEvent{Type: riskmeshv1.PushEventType_PUSH_EVENT_TYPE_QUERY_CHANGED,
			ProviderResult: part, Result: rec.Result}); err != nil {
			return err
		}
	}
	return nil
}

// chargePart bills e's share to the part of rec that sent e's exchange,
// and returns that part, nil if there is none.
func chargePart(rec *riskmeshv1.QueryRecord, e *accounting.RecordedEntry, now time.Time) *riskmeshv1.ProviderResult {
	for _, pr := range rec.ProviderResults {
		if pr.Provider != e.Key.Responder {
			continue
		}
		for _, x := range pr.Exchanges {
			if x.Sequence != e.Key.Sequence || e.Count == 0 {
				continue
			}
			if pr.LateChange == nil {
				pr.LateChange = &riskmeshv1.LateChange{PreviousStatus: pr.Status, PreviousAmount: pr.Amount}
			}
			pr.LateChange.Source, pr.LateChange.ChangedAt = riskmeshv1.LateSource_LATE_SOURCE_RECONCILED, timestamppb.New(now)
			pr.Amount += e.Amount / int64(e.Count) * int64(x.Items)
			return pr
		}
	}
	return nil
}

// reconcileReport summarises the reconciliation records of period.
func (s *store) reconcileReport(period uint64, requester string) (*riskmeshv1.ReconcileReport, error) {
	rep := &riskmeshv1.ReconcileReport{Period: period}
	prefix := binary.BigEndian.AppendUint64(nil, period)
	err := s.commits.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketReconcilePasses).Get(prefix); len(v) == 8 {
			rep.LastPass = timestamppb.New(time.Unix(0, int64(binary.BigEndian.Uint64(v))))
		}
		c := tx.Bucket(bucketReconcile).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			rec := new(riskmeshv1.ReconcileRecord)
			if len(v) > maxRecordSize {
				return fmt.Errorf("requester: stored reconciliation record of %d bytes", len(v))
			}
			if err := proto.Unmarshal(v, rec); err != nil {
				return fmt.Errorf("requester: decode stored reconciliation record: %w", err)
			}
			key, ok := parseReconcileKey(k, requester)
			if !ok {
				continue
			}
			rep.Entries = append(rep.Entries, &riskmeshv1.ReconciledEntry{
				Key:    &riskmeshv1.EntryKey{Period: key.Period, Requester: key.Requester, Responder: key.Responder, Sequence: key.Sequence},
				Amount: rec.Amount, State: rec.State, Note: rec.Note,
			})
			rep.Billed += rec.Amount
			switch rec.State {
			case riskmeshv1.ReconcileState_RECONCILE_STATE_MATCHED:
				rep.Matched++
			case riskmeshv1.ReconcileState_RECONCILE_STATE_RECOVERED:
				rep.Recovered++
			case riskmeshv1.ReconcileState_RECONCILE_STATE_DISPUTED:
				rep.Disputed++
			case riskmeshv1.ReconcileState_RECONCILE_STATE_REVERSED:
				rep.Reversed++
				rep.ReversedAmount += rec.Amount
			default:
				rep.Pending++
			}
		}
		return nil
	})
	return rep, err
}

// SealStore seals, in place, the query records, pending parts and
// transcripts in tx, a node.db written without sealing that is about to
// be opened with ring (docs/operations.md, "Sealing node.db").
func SealStore(tx *bolt.Tx, ring *seal.Keyring) error {
	return sealBuckets(tx, ring, sealedBuckets[:3])
}

// SealFeedback seals, in place, the hit feedback in tx, a node.db written
// before the feedback was sealed (with sealing off, or by a version that
// sealed only what SealStore does).
func SealFeedback(tx *bolt.Tx, ring *seal.Keyring) error {
	return sealBuckets(tx, ring, sealedBuckets[3:])
}

func sealBuckets(tx *bolt.Tx, ring *seal.Keyring, names [][]byte) error {
	for _, name := range names {
		b := tx.Bucket(name)
		var err error
		switch {
		case b == nil:
		case bytes.Equal(name, bucketTranscripts): // in child buckets (internal/largevalue)
			err = largevalue.Rewrite(b, func(key, v []byte) ([]byte, error) { return ring.SealValue(name, key, v) })
		default:
			err = ring.SealBucket(b, name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
