package recon

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/cryptobyte"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Buckets in the node's bbolt file (node.db). Every value is sealed for
// its bucket and key when sealing is on (Config.Seal); keys name a
// reconciliation by its id, never a row.
var (
	// bucketStatus maps an id to its riskmeshv1.Reconciliation, so that
	// List and Get outlive a restart.
	bucketStatus = []byte("recon/status")
	// bucketState maps the id of a reconciliation in progress to its
	// saved state (encodeSaved): what Resume continues from.
	bucketState = []byte("recon/state")
	// bucketLog holds the set log of a reconciliation in progress, one
	// value per step that added entries: id | 0 | u32 index.
	bucketLog = []byte("recon/log")
	// bucketRecords holds the transcript records of a reconciliation in
	// progress, one value per record: id | 0 | u32 index.
	bucketRecords = []byte("recon/records")
	// bucketDigests maps a signed header's digest to its id, so that a
	// responder restarted in the middle finds the reconciliation a step
	// names.
	bucketDigests = []byte("recon/digests")
	// bucketFinal maps the signed header digest of a reconciliation this
	// node answered to its end to its last step and answer (encodeFinal),
	// so that a requester that lost that answer gets it again, from a
	// restarted node too, for Config.IdleTimeout.
	bucketFinal = []byte("recon/final")

	allBuckets    = [][]byte{bucketStatus, bucketState, bucketLog, bucketRecords, bucketDigests, bucketFinal}
	sealedBuckets = [][]byte{bucketStatus, bucketState, bucketLog, bucketRecords, bucketFinal}
)

// savedVersion is the first byte of a saved state.
const savedVersion = 1

// Bounds of a saved state's fields, checked before anything is allocated.
const (
	maxSavedName = 255
	// maxSavedStep bounds the saved pending step or last answer: a chunk
	// of MaxReconChunk points, its signature and the framing.
	maxSavedStep = riskmeshv1.MaxReconStepSize
	maxSavedSize = 1 + 1 + 1 + 3*(1+maxSavedName) + 8 + 8 + 4*4 + 2 + transcript.MaxReconHeaderSize +
		2*(1+ecsig.MaxSignatureSize) + 2 + ecdh.MaxCheckpointSize + sha256.Size + 8 + 8 + 4 + 4 +
		2*(3+maxSavedStep) + sha256.Size
)

// saved is what node.db keeps of one reconciliation in progress, written
// in one transaction with the set-log entries and records it counts, each
// time before this side sends anything (requester) or answers (responder):
// a side that crashes resumes from it, and what it sends again is byte for
// byte what it sent before.
type saved struct {
	role ecdh.Role
	// peer, list and peerList: the other institution, this node's list
	// and (requester) the responder's list name.
	peer, list, peerList string
	protocol             transcript.Protocol
	period, sequence     uint64
	// chunkSize is what the requester asked for (the header repeats it).
	chunkSize uint32
	// header and its two signatures; nil header before it is signed.
	header *transcript.ReconTranscript
	// checkpoint is the library's (ecdh.Reconciler.Checkpoint).
	checkpoint []byte
	// listDigest is the SHA-256 of the list's items in order: a resumed
	// side must mask exactly the items it masked before.
	listDigest [sha256.Size]byte
	// resultSize and resultRows are the result file's length and rows
	// when this state was written; it is truncated back to them.
	resultSize int64
	resultRows uint64
	// records and logs count the values in bucketRecords and bucketLog.
	records, logs uint32
	// pending (requester) is the step to send next, as its deterministic
	// encoding; lastDigest and last (responder) the latest step answered
	// and its answer, given again to a resend.
	pending    []byte
	last       []byte
	lastDigest [sha256.Size]byte
}

func encodeSaved(s *saved) ([]byte, error) {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8(savedVersion)
	b.AddUint8(uint8(s.role))
	b.AddUint8(uint8(s.protocol))
	for _, v := range []string{s.peer, s.list, s.peerList} {
		if len(v) > maxSavedName {
			return nil, fmt.Errorf("recon: saved name of %d bytes", len(v))
		}
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(v)) })
	}
	b.AddUint64(s.period)
	b.AddUint64(s.sequence)
	b.AddUint32(s.chunkSize)
	b.AddUint32(s.records)
	b.AddUint32(s.logs)
	b.AddUint64(uint64(s.resultSize))
	b.AddUint64(s.resultRows)
	var hdr []byte
	var sigs [2][]byte
	if s.header != nil {
		var err error
		if hdr, err = s.header.Header.MarshalBinary(); err != nil {
			return nil, err
		}
		sigs = [2][]byte{s.header.RequesterSignature, s.header.ResponderSignature}
	}
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(hdr) })
	for _, sig := range sigs {
		if len(sig) > ecsig.MaxSignatureSize {
			return nil, fmt.Errorf("recon: saved signature of %d bytes", len(sig))
		}
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sig) })
	}
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(s.checkpoint) })
	b.AddBytes(s.listDigest[:])
	for _, step := range [][]byte{s.pending, s.last} {
		if len(step) > maxSavedStep {
			return nil, fmt.Errorf("recon: saved step of %d bytes", len(step))
		}
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(step) })
	}
	b.AddBytes(s.lastDigest[:])
	return b.Bytes()
}

// errSaved is a saved state that does not decode: node.db was damaged or
// written by something else.
var errSaved = errors.New("recon: bad saved state")

// decodeSaved parses a saved state, every length checked against its
// bound before it is used.
func decodeSaved(data []byte) (*saved, error) {
	if len(data) > maxSavedSize {
		return nil, fmt.Errorf("%w: %d bytes", errSaved, len(data))
	}
	var (
		s                    saved
		version, role, proto uint8
		names                [3]cryptobyte.String
		hdr, cp              cryptobyte.String
		sigs                 [2]cryptobyte.String
		steps                [2]cryptobyte.String
		size                 uint64
	)
	in := cryptobyte.String(data)
	ok := in.ReadUint8(&version) && in.ReadUint8(&role) && in.ReadUint8(&proto) &&
		in.ReadUint8LengthPrefixed(&names[0]) && in.ReadUint8LengthPrefixed(&names[1]) && in.ReadUint8LengthPrefixed(&names[2]) &&
		in.ReadUint64(&s.period) && in.ReadUint64(&s.sequence) && in.ReadUint32(&s.chunkSize) &&
		in.ReadUint32(&s.records) && in.ReadUint32(&s.logs) && in.ReadUint64(&size) && in.ReadUint64(&s.resultRows) &&
		in.ReadUint16LengthPrefixed(&hdr) && in.ReadUint8LengthPrefixed(&sigs[0]) && in.ReadUint8LengthPrefixed(&sigs[1]) &&
		in.ReadUint16LengthPrefixed(&cp) && in.CopyBytes(s.listDigest[:]) &&
		in.ReadUint24LengthPrefixed(&steps[0]) && in.ReadUint24LengthPrefixed(&steps[1]) &&
		in.CopyBytes(s.lastDigest[:]) && in.Empty()
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: truncated or trailing bytes", errSaved)
	case version != savedVersion:
		return nil, fmt.Errorf("%w: version %d", errSaved, version)
	case ecdh.Role(role) != ecdh.RoleRequester && ecdh.Role(role) != ecdh.RoleResponder:
		return nil, fmt.Errorf("%w: role %d", errSaved, role)
	case !transcript.Protocol(proto).IsECDH():
		return nil, fmt.Errorf("%w: protocol %d", errSaved, proto)
	case size > 1<<62:
		return nil, fmt.Errorf("%w: result size %d", errSaved, size)
	case len(cp) > ecdh.MaxCheckpointSize || len(steps[0]) > maxSavedStep || len(steps[1]) > maxSavedStep:
		return nil, fmt.Errorf("%w: field too long", errSaved)
	case len(hdr) == 0 && (len(sigs[0]) > 0 || len(sigs[1]) > 0):
		return nil, fmt.Errorf("%w: signatures without a header", errSaved)
	}
	s.role, s.protocol, s.resultSize = ecdh.Role(role), transcript.Protocol(proto), int64(size)
	s.peer, s.list, s.peerList = string(names[0]), string(names[1]), string(names[2])
	if len(hdr) > 0 {
		h, err := transcript.ParseReconHeader(hdr)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errSaved, err)
		}
		s.header = &transcript.ReconTranscript{Header: *h, RequesterSignature: bytes.Clone(sigs[0]),
			ResponderSignature: bytes.Clone(sigs[1])}
	}
	s.checkpoint = bytes.Clone(cp)
	s.pending, s.last = bytes.Clone(steps[0]), bytes.Clone(steps[1])
	return &s, nil
}

// store keeps reconciliations in node.db.
type store struct {
	db   *bolt.DB
	ring *seal.Keyring // nil: values in plain
}

func newStore(db *bolt.DB, ring *seal.Keyring) (*store, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("recon: create bucket %s: %w", b, err)
			}
		}
		return nil
	})
	return &store{db: db, ring: ring}, err
}

// SealStore seals, in place, every reconciliation value in tx, a node.db
// written without sealing that is about to be opened with ring
// (docs/operations.md, "Sealing node.db").
func SealStore(tx *bolt.Tx, ring *seal.Keyring) error {
	for _, name := range sealedBuckets {
		if b := tx.Bucket(name); b != nil {
			if err := ring.SealBucket(b, name); err != nil {
				return err
			}
		}
	}
	return nil
}

func (st *store) put(tx *bolt.Tx, bucket, key, v []byte) error {
	sealed, err := st.ring.SealValue(bucket, key, v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put(key, sealed)
}

// get returns the opened value under key, nil if there is none.
func (st *store) get(tx *bolt.Tx, bucket, key []byte) ([]byte, error) {
	v := tx.Bucket(bucket).Get(key)
	if v == nil {
		return nil, nil
	}
	v, err := st.ring.OpenValue(bucket, key, v)
	if err != nil {
		return nil, fmt.Errorf("recon: node.db %s: %w", bucket, err)
	}
	return bytes.Clone(v), nil
}

// indexKey is id | 0 | u32 i: the ith value of reconciliation id in
// bucketLog or bucketRecords. Ids hold no zero byte, so one id's keys
// never run into another's.
func indexKey(id string, i uint32) []byte {
	k := append([]byte(id), 0)
	return binary.BigEndian.AppendUint32(k, i)
}

// progress is what one write adds: the state, the new set-log bytes and
// records, and the status to show.
type progress struct {
	id      string
	state   *saved
	log     []byte
	records []transcript.ChunkRecord
	status  *riskmeshv1.Reconciliation
}

// save writes p in one transaction: the log and records first counted,
// then the state that counts them.
func (st *store) save(p *progress) error {
	return st.db.Update(func(tx *bolt.Tx) error {
		s := p.state
		if len(p.log) > 0 {
			if err := st.put(tx, bucketLog, indexKey(p.id, s.logs), p.log); err != nil {
				return err
			}
			s.logs++
		}
		for i := range p.records {
			enc, err := encodeRecord(&p.records[i])
			if err != nil {
				return err
			}
			if err := st.put(tx, bucketRecords, indexKey(p.id, s.records), enc); err != nil {
				return err
			}
			s.records++
		}
		enc, err := encodeSaved(s)
		if err != nil {
			return err
		}
		if err := st.put(tx, bucketState, []byte(p.id), enc); err != nil {
			return err
		}
		if s.header != nil {
			d, err := s.header.Header.Digest()
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketDigests).Put(d[:], []byte(p.id)); err != nil {
				return err
			}
		}
		return st.putStatus(tx, p.status)
	})
}

func (st *store) putStatus(tx *bolt.Tx, status *riskmeshv1.Reconciliation) error {
	if status == nil {
		return nil
	}
	enc, err := proto.MarshalOptions{Deterministic: true}.Marshal(status)
	if err != nil {
		return err
	}
	return st.put(tx, bucketStatus, []byte(status.GetId()), enc)
}

// saveStep saves one side's state st after a step: the result file's rows
// are made durable first, then the checkpoint, the set log written since
// and the records not yet saved go to node.db with st in one transaction.
func (n *Node) saveStep(id string, st *saved, res *resultFile, r *ecdh.Reconciler, log *bytes.Buffer, b *book, t *tracker) error {
	if err := res.sync(); err != nil {
		return err
	}
	cp, err := r.Checkpoint()
	if err != nil {
		return err
	}
	st.checkpoint, st.resultSize, st.resultRows = cp, res.size, uint64(res.n)
	t.progress(r, res.n)
	err = n.store.save(&progress{id: id, state: st, log: log.Bytes(), records: b.t.Records[st.records:], status: t.snapshot()})
	log.Reset()
	return err
}

// setStatus records a reconciliation's status alone.
func (st *store) setStatus(status *riskmeshv1.Reconciliation) error {
	return st.db.Update(func(tx *bolt.Tx) error { return st.putStatus(tx, status) })
}

// final is the last step of a reconciliation a responder answered to its
// end, and its answer.
type final struct {
	// header is the signed header's digest, the key it is kept under.
	header [transcript.DigestSize]byte
	// at is when it ended; it is given again until at + IdleTimeout.
	at        time.Time
	requester string
	// digest is the step's (stepDigest); answer the encoded PeerResponse.
	digest [sha256.Size]byte
	answer []byte
}

// A final answer as node.db keeps it:
//
//	u64 unix seconds | str8 requester | [32] step digest | u24-prefixed answer
func encodeFinal(f *final) ([]byte, error) {
	if len(f.requester) > maxSavedName || len(f.answer) > maxSavedStep {
		return nil, fmt.Errorf("recon: final answer fields too long")
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddUint64(uint64(f.at.Unix()))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(f.requester)) })
	b.AddBytes(f.digest[:])
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(f.answer) })
	return b.Bytes()
}

func decodeFinal(data []byte) (*final, error) {
	var (
		f         final
		at        uint64
		requester cryptobyte.String
		answer    cryptobyte.String
	)
	in := cryptobyte.String(data)
	if !in.ReadUint64(&at) || !in.ReadUint8LengthPrefixed(&requester) || !in.CopyBytes(f.digest[:]) ||
		!in.ReadUint24LengthPrefixed(&answer) || !in.Empty() || at > 1<<62 || len(answer) > maxSavedStep {
		return nil, fmt.Errorf("%w: final answer", errSaved)
	}
	f.at, f.requester, f.answer = time.Unix(int64(at), 0), string(requester), bytes.Clone(answer)
	return &f, nil
}

// final returns the final answer kept under header digest d, nil if none.
func (st *store) final(d [transcript.DigestSize]byte) (*final, error) {
	var out *final
	err := st.db.View(func(tx *bolt.Tx) error {
		raw, err := st.get(tx, bucketFinal, d[:])
		if err != nil || raw == nil {
			return err
		}
		out, err = decodeFinal(raw)
		return err
	})
	return out, err
}

// forget deletes the saved state of id (its secret, set log and records)
// and records its final status: the reconciliation has ended and cannot
// be resumed. A responder passes the last step it answered (fin, nil
// otherwise), kept under the header digest until expired, when final
// answers that ended before it are deleted.
func (st *store) forget(id string, status *riskmeshv1.Reconciliation, fin *final, expired time.Time) error {
	return st.db.Update(func(tx *bolt.Tx) error {
		if err := st.keepFinal(tx, fin, expired); err != nil {
			return err
		}
		raw, err := st.get(tx, bucketState, []byte(id))
		if err != nil {
			return err
		}
		if raw != nil {
			if s, err := decodeSaved(raw); err == nil && s.header != nil {
				if d, err := s.header.Header.Digest(); err == nil {
					if err := tx.Bucket(bucketDigests).Delete(d[:]); err != nil {
						return err
					}
				}
			}
		}
		prefix := append([]byte(id), 0)
		for _, name := range [][]byte{bucketLog, bucketRecords} {
			c := tx.Bucket(name).Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		if err := tx.Bucket(bucketState).Delete([]byte(id)); err != nil {
			return err
		}
		return st.putStatus(tx, status)
	})
}

// keepFinal stores fin and deletes the final answers that ended before
// expired.
func (st *store) keepFinal(tx *bolt.Tx, fin *final, expired time.Time) error {
	if fin == nil {
		return nil
	}
	b := tx.Bucket(bucketFinal)
	var old [][]byte
	// One that does not open or decode is of no use either.
	_ = b.ForEach(func(k, v []byte) error {
		raw, err := st.ring.OpenValue(bucketFinal, k, v)
		if err == nil {
			var f *final
			if f, err = decodeFinal(raw); err == nil && !f.at.Before(expired) {
				return nil
			}
		}
		old = append(old, bytes.Clone(k))
		return nil
	})
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	enc, err := encodeFinal(fin)
	if err != nil {
		return err
	}
	return st.put(tx, bucketFinal, fin.header[:], enc)
}

// loaded is a saved state with the set log and records it counts.
type loaded struct {
	*saved
	log     io.Reader
	records []transcript.ChunkRecord
}

// load reads the saved state of id, nil if there is none.
func (st *store) load(id string) (*loaded, error) {
	var out *loaded
	err := st.db.View(func(tx *bolt.Tx) error {
		raw, err := st.get(tx, bucketState, []byte(id))
		if err != nil || raw == nil {
			return err
		}
		s, err := decodeSaved(raw)
		if err != nil {
			return err
		}
		l := &loaded{saved: s}
		var logs [][]byte
		for i := range s.logs {
			v, err := st.get(tx, bucketLog, indexKey(id, i))
			if err != nil {
				return err
			}
			if v == nil {
				return fmt.Errorf("%w: set log %d missing", errSaved, i)
			}
			logs = append(logs, v)
		}
		l.log = bytes.NewReader(bytes.Join(logs, nil))
		for i := range s.records {
			v, err := st.get(tx, bucketRecords, indexKey(id, i))
			if err != nil {
				return err
			}
			r, err := decodeRecord(v)
			if err != nil {
				return err
			}
			l.records = append(l.records, r)
		}
		out = l
		return nil
	})
	return out, err
}

// byDigest returns the id of the reconciliation in progress whose signed
// header has digest d, "" if there is none.
func (st *store) byDigest(d [transcript.DigestSize]byte) (string, error) {
	var id string
	err := st.db.View(func(tx *bolt.Tx) error {
		id = string(tx.Bucket(bucketDigests).Get(d[:]))
		return nil
	})
	return id, err
}

// inProgress returns the ids of the reconciliations with a saved state in
// role.
func (st *store) inProgress(role ecdh.Role) ([]string, error) {
	var ids []string
	err := st.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketState).ForEach(func(k, v []byte) error {
			raw, err := st.ring.OpenValue(bucketState, k, v)
			if err != nil {
				return err
			}
			if len(raw) > 1 && ecdh.Role(raw[1]) == role {
				ids = append(ids, string(k))
			}
			return nil
		})
	})
	return ids, err
}

// statuses returns every recorded status, by id.
func (st *store) statuses() (map[string]*riskmeshv1.Reconciliation, error) {
	out := make(map[string]*riskmeshv1.Reconciliation)
	err := st.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketStatus).ForEach(func(k, v []byte) error {
			raw, err := st.ring.OpenValue(bucketStatus, k, v)
			if err != nil {
				return fmt.Errorf("recon: node.db %s: %w", bucketStatus, err)
			}
			m := new(riskmeshv1.Reconciliation)
			if err := proto.Unmarshal(raw, m); err != nil {
				return fmt.Errorf("recon: node.db %s: %w", bucketStatus, err)
			}
			out[string(k)] = m
			return nil
		})
	})
	return out, err
}

// status returns the recorded status of id, nil if there is none.
func (st *store) status(id string) (*riskmeshv1.Reconciliation, error) {
	var out *riskmeshv1.Reconciliation
	err := st.db.View(func(tx *bolt.Tx) error {
		raw, err := st.get(tx, bucketStatus, []byte(id))
		if err != nil || raw == nil {
			return err
		}
		out = new(riskmeshv1.Reconciliation)
		return proto.Unmarshal(raw, out)
	})
	return out, err
}

// A record as node.db keeps it:
//
//	u8 kind | u32 seq | u32 count | [32] hash | [32] answers | str8 signature
func encodeRecord(r *transcript.ChunkRecord) ([]byte, error) {
	if len(r.Signature) > ecsig.MaxSignatureSize {
		return nil, fmt.Errorf("recon: record signature of %d bytes", len(r.Signature))
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8(uint8(r.Kind))
	b.AddUint32(r.Seq)
	b.AddUint32(r.Count)
	b.AddBytes(r.Hash[:])
	b.AddBytes(r.Answers[:])
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(r.Signature) })
	return b.Bytes()
}

func decodeRecord(data []byte) (transcript.ChunkRecord, error) {
	var (
		r    transcript.ChunkRecord
		kind uint8
		sig  cryptobyte.String
	)
	in := cryptobyte.String(data)
	if !in.ReadUint8(&kind) || !in.ReadUint32(&r.Seq) || !in.ReadUint32(&r.Count) ||
		!in.CopyBytes(r.Hash[:]) || !in.CopyBytes(r.Answers[:]) || !in.ReadUint8LengthPrefixed(&sig) || !in.Empty() {
		return r, fmt.Errorf("%w: record", errSaved)
	}
	if !slices.Contains([]ecdh.ChunkKind{ecdh.KindResponderMasked, ecdh.KindRequesterReturn, ecdh.KindRequesterMasked, ecdh.KindResponderReply,
		ecdh.KindRequesterLabels, ecdh.KindResponderLabels}, ecdh.ChunkKind(kind)) {
		return r, fmt.Errorf("%w: record kind %d", errSaved, kind)
	}
	r.Kind, r.Signature = ecdh.ChunkKind(kind), bytes.Clone(sig)
	return r, nil
}
