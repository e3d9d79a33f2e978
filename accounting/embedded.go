package accounting

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/internal/durable"
	"github.com/riskmesh/riskmesh/internal/labelhash"
)

// EmbeddedConfig configures an embedded ledger. Its zero value works.
type EmbeddedConfig struct {
	// Regulator is the regulator's MSP id, fixed for the ledger's lifetime
	// (default "RegulatorMSP"). A ledger reopened with a different
	// regulator is refused.
	Regulator string
	// Governance is the genesis governance (docs/governance.md); the zero
	// value is the regulator deciding alone. Once the ledger holds its
	// own governance record, that record rules and this is ignored.
	Governance chaincode.Governance
	// OnEvent, if set, receives each committed transaction's event (the
	// chaincode's event name and JSON payload) after the commit. It must
	// not call back into the ledger.
	OnEvent func(name string, payload []byte)
	// OpenTimeout bounds waiting for the file lock (default 5s).
	OpenTimeout time.Duration
}

// DefaultRegulator is EmbeddedConfig.Regulator's default.
const DefaultRegulator = "RegulatorMSP"

var (
	bucketState = []byte("state")
	bucketLog   = []byte("log")
	bucketMeta  = []byte("meta")
	metaHead    = []byte("head")      // 8-byte sequence || 32-byte hash
	metaReg     = []byte("regulator") // regulator MSP id
)

// EmbeddedStore is the embedded ledger: the chaincode logic in-process over a
// bbolt file. Each Submit is one bbolt read-write transaction holding the
// contract's writes and the log record; a rejected call writes nothing.
// It is safe for concurrent use; transactions are serialised by bbolt.
type EmbeddedStore struct {
	db       *bolt.DB
	contract *chaincode.Contract
	onEvent  func(string, []byte)

	mu     sync.RWMutex // guards closed against Close racing with calls
	closed bool
}

// OpenEmbedded opens (creating if needed) the embedded ledger at path.
func OpenEmbedded(path string, cfg EmbeddedConfig) (*EmbeddedStore, error) {
	cfg.Regulator = cmp.Or(cfg.Regulator, DefaultRegulator)
	cfg.OpenTimeout = cmp.Or(cfg.OpenTimeout, 5*time.Second)
	contract, err := chaincode.New(cfg.Regulator, chaincode.WithGenesis(cfg.Governance))
	if err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, durable.BoltOptions(cfg.OpenTimeout))
	if err != nil {
		return nil, fmt.Errorf("accounting: open embedded ledger: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketState, bucketLog, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if reg := meta.Get(metaReg); reg == nil {
			return meta.Put(metaReg, []byte(cfg.Regulator))
		} else if string(reg) != cfg.Regulator {
			return fmt.Errorf("accounting: ledger's regulator is %q, not %q", reg, cfg.Regulator)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &EmbeddedStore{db: db, contract: contract, onEvent: cfg.OnEvent}, nil
}

// Close closes the ledger file. Clients made by As fail with ErrClosed after.
func (s *EmbeddedStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.db.Close()
}

// Embedded is a Ledger client of an EmbeddedStore acting as one MSP identity.
type Embedded struct {
	*Client
	mspID string
}

var _ Ledger = (*Embedded)(nil)

// As returns a client that transacts as mspID. The embedded ledger trusts
// the caller's claim: it is for one machine, where every identity is the
// operator's own.
func (s *EmbeddedStore) As(mspID string) (*Embedded, error) {
	inv, err := s.Invoker(mspID)
	if err != nil {
		return nil, err
	}
	return &Embedded{Client: NewClient(inv), mspID: mspID}, nil
}

// Invoker returns the raw contract calls of mspID, for a relay that carries
// already-encoded calls from another process (node/ledgerrelay) and must
// hand them to the contract unchanged. Contract rejections come back as
// *chaincode.Error.
func (s *EmbeddedStore) Invoker(mspID string) (Invoker, error) {
	if !chaincode.ValidMSPID(mspID) {
		return nil, fmt.Errorf("%w: MSP id %q", ErrInvalidArgument, mspID)
	}
	return &embeddedInvoker{s: s, caller: mspID}, nil
}

// MSPID returns the identity the client acts as.
func (e *Embedded) MSPID() string { return e.mspID }

type embeddedInvoker struct {
	s      *EmbeddedStore
	caller string
}

func (inv *embeddedInvoker) Submit(ctx context.Context, fn string, arg []byte) ([]byte, error) {
	return inv.s.invoke(ctx, inv.caller, fn, arg, true)
}

func (inv *embeddedInvoker) Evaluate(ctx context.Context, fn string, arg []byte) ([]byte, error) {
	return inv.s.invoke(ctx, inv.caller, fn, arg, false)
}

type event struct {
	name    string
	payload []byte
}

func (s *EmbeddedStore) invoke(ctx context.Context, caller, fn string, arg []byte, submit bool) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	query := chaincode.IsQuery(fn)
	if submit == query {
		// Fabric would run a query "submitted" as a transaction with an empty
		// write set; the embedded ledger keeps queries out of its log.
		if submit {
			return nil, &chaincode.Error{Code: chaincode.CodeInvalidArgument, Detail: fn + " is a query: evaluate it"}
		}
		return nil, &chaincode.Error{Code: chaincode.CodeInvalidArgument, Detail: fn + " is a transaction: submit it"}
	}
	if query {
		var res []byte
		err := s.db.View(func(tx *bolt.Tx) error {
			st := &boltState{tx: tx, bucket: tx.Bucket(bucketState), caller: caller}
			var err error
			res, err = s.contract.Invoke(st, fn, arg)
			return err
		})
		return res, err
	}
	var res []byte
	var ev *event
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		seq, prev, err := readHead(meta)
		if err != nil {
			return err
		}
		seq++
		var sb [8]byte
		binary.BigEndian.PutUint64(sb[:], seq)
		id := labelhash.Sum(labelTxID, sb[:], prev[:])
		st := &boltState{
			tx: tx, bucket: tx.Bucket(bucketState), caller: caller,
			txID: hex.EncodeToString(id[:16]), writes: map[string][]byte{},
		}
		if res, err = s.contract.Invoke(st, fn, arg); err != nil {
			return err
		}
		rec := LogRecord{
			Sequence: seq, TxID: st.txID, Caller: caller, Function: fn,
			ArgsDigest: labelhash.Sum(LabelLogArgs, arg), WritesDigest: writesDigest(st.writes), PrevHash: prev,
		}
		enc, err := rec.MarshalBinary()
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketLog).Put(sb[:], enc); err != nil {
			return err
		}
		h := labelhash.Sum(LabelLogRecord, enc)
		if err := meta.Put(metaHead, append(sb[:], h[:]...)); err != nil {
			return err
		}
		ev = st.event
		return nil
	})
	if err != nil {
		return nil, err
	}
	if ev != nil && s.onEvent != nil {
		s.onEvent(ev.name, ev.payload)
	}
	return res, nil
}

func readHead(meta *bolt.Bucket) (uint64, [32]byte, error) {
	var h [32]byte
	v := meta.Get(metaHead)
	if v == nil {
		return 0, h, nil
	}
	if len(v) != 40 {
		return 0, h, fmt.Errorf("%w: malformed head", ErrLogTampered)
	}
	copy(h[:], v[8:])
	return binary.BigEndian.Uint64(v[:8]), h, nil
}

// LogHead is the position a log verification ends at; an auditor records it
// and checks later verifications extend it.
type LogHead struct {
	Sequence uint64
	Hash     [32]byte
}

// VerifyLog walks the whole transaction log and checks the hash chain: every
// record parses, sequences run 1, 2, ... without gaps, each record names the
// previous record's hash, and the last hash is the stored head. It returns the
// head. An error wrapping ErrLogTampered means the log was altered. It does
// not re-execute transactions (the log holds digests of arguments and
// writes, not the arguments).
func (s *EmbeddedStore) VerifyLog(ctx context.Context) (LogHead, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return LogHead{}, ErrClosed
	}
	var head LogHead
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		head, err = verifyChain(ctx, tx, nil)
		return err
	})
	return head, verifyError(ctx, err)
}

var _ io.WriterTo = (*EmbeddedStore)(nil)

// WriteTo writes a consistent copy of the ledger file to w, as of one
// moment, while transactions go on; it implements io.WriterTo for live
// backups. Transactions that need the file to grow wait until the copy
// ends.
func (s *EmbeddedStore) WriteTo(w io.Writer) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("accounting: copy embedded ledger: %w", err)
	}
	return n, nil
}

// lockWait bounds VerifyLogFile's wait for the file lock: a file still
// locked after it belongs to a running ledger.
const lockWait = time.Second

// VerifyLogFile verifies the transaction log of the embedded ledger file at
// path as VerifyLog does, reading the file without changing it. It is for
// copies (a backup): the file of a running ledger is locked by its process,
// and opening it fails after a second with an error saying so.
//
// If earlier is not nil the log must also extend it: the record at
// earlier.Sequence must exist and hash to earlier.Hash, so the file holds
// the same chain as when that head was taken, or a longer one through it.
// A log that does not fails with an error wrapping ErrLogTampered.
func VerifyLogFile(ctx context.Context, path string, earlier *LogHead) (LogHead, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockWait})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return LogHead{}, fmt.Errorf("accounting: %s is locked by a running process (verify a copy, not the live ledger): %w", path, err)
	}
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		return LogHead{}, fmt.Errorf("accounting: %w", err) // it names the file already
	}
	if err != nil {
		return LogHead{}, fmt.Errorf("accounting: open %s: %w", path, err)
	}
	defer db.Close()
	var head LogHead
	err = db.View(func(tx *bolt.Tx) error {
		var err error
		head, err = verifyChain(ctx, tx, earlier)
		return err
	})
	return head, verifyError(ctx, err)
}

// verifyChain checks the log in tx (see VerifyLog) and, if earlier is not
// nil, that it extends earlier (see VerifyLogFile).
func verifyChain(ctx context.Context, tx *bolt.Tx, earlier *LogHead) (LogHead, error) {
	log, meta := tx.Bucket(bucketLog), tx.Bucket(bucketMeta)
	if log == nil || meta == nil {
		return LogHead{}, errors.New("not an embedded ledger file (no log)")
	}
	var prev [32]byte
	var n uint64
	c := log.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return LogHead{}, err
			}
		}
		n++
		rec, err := ParseLogRecord(v)
		if err != nil {
			return LogHead{}, fmt.Errorf("record %d: %w", n, err)
		}
		if len(k) != 8 || binary.BigEndian.Uint64(k) != n || rec.Sequence != n {
			return LogHead{}, fmt.Errorf("%w: record %d out of sequence", ErrLogTampered, n)
		}
		if rec.PrevHash != prev {
			return LogHead{}, fmt.Errorf("%w: record %d does not chain to record %d", ErrLogTampered, n, n-1)
		}
		prev = labelhash.Sum(LabelLogRecord, v)
		if earlier != nil && earlier.Sequence == n && earlier.Hash != prev {
			return LogHead{}, fmt.Errorf("%w: record %d has hash %x, not the expected %x", ErrLogTampered, n, prev, earlier.Hash)
		}
	}
	seq, h, err := readHead(meta)
	if err != nil {
		return LogHead{}, err
	}
	if seq != n || h != prev {
		return LogHead{}, fmt.Errorf("%w: head (%d) does not match the last record (%d)", ErrLogTampered, seq, n)
	}
	if earlier != nil {
		switch {
		case earlier.Sequence > n:
			return LogHead{}, fmt.Errorf("%w: log ends at record %d, before the expected head %d", ErrLogTampered, n, earlier.Sequence)
		case earlier.Sequence == 0 && earlier.Hash != [32]byte{}:
			return LogHead{}, fmt.Errorf("%w: the head of an empty log has a zero hash, not %x", ErrLogTampered, earlier.Hash)
		}
	}
	return LogHead{Sequence: n, Hash: prev}, nil
}

// verifyError wraps a verification failure that is neither tampering nor
// the caller's cancellation.
func verifyError(ctx context.Context, err error) error {
	if err != nil && !errors.Is(err, ErrLogTampered) && ctx.Err() == nil {
		return fmt.Errorf("accounting: verify log: %w", err)
	}
	return err
}
