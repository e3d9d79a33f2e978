package provider

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/groupcommit"
	"github.com/riskmesh/riskmesh/internal/largevalue"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Buckets in the node's bbolt file. Both are keyed by exchangeKey, so they
// sort by period and retention deletes a prefix.
var (
	// bucketTranscripts holds each answered exchange's transcript in the
	// psi/transcript file format (blinded elements only), sealed for its
	// key with sealing on (commit, getTranscript). A 1,000-item answer's
	// is about 66 KB: internal/largevalue stores each in a child bucket of
	// its own, so an answer's commit does not write the transcripts
	// answered before it again.
	bucketTranscripts = []byte("provider/transcripts")
	// bucketReplay maps an exchange to its request digest, so a retry is
	// recognised without parsing the transcript.
	bucketReplay = []byte("provider/replay")
)

// errReplayed reports a sequence number already used with another request.
var errReplayed = errors.New("provider: sequence number already used for a different request")

// exchangeKey is (period, sequence, requester): period first, big-endian,
// so keys sort by period; the requester, a printable MSP id, is the
// variable-length tail.
func exchangeKey(h *transcript.Header) []byte {
	k := make([]byte, 16, 16+len(h.Requester))
	binary.BigEndian.PutUint64(k, h.Period)
	binary.BigEndian.PutUint64(k[8:], h.Sequence)
	return append(k, h.Requester...)
}

// lookup returns the stored transcript of an exchange whose request digest
// matches, nil if the exchange is new, or errReplayed, as db holds it:
// node.db itself, which an answer journalled a moment ago may not have
// reached yet (evaluate takes the exchange's turn, answering.go, so that a
// copy of its request is not evaluated again meanwhile), or the journal,
// whose View folds what it holds first.
func (p *Provider) lookup(db groupcommit.DB, key []byte, digest [transcript.DigestSize]byte) (*transcript.Transcript, error) {
	var t *transcript.Transcript
	err := db.View(func(tx *bolt.Tx) error {
		var err error
		t, err = p.storedAnswer(tx, key, digest)
		return err
	})
	return t, err
}

func (p *Provider) storedAnswer(tx *bolt.Tx, key []byte, digest [transcript.DigestSize]byte) (*transcript.Transcript, error) {
	old := tx.Bucket(bucketReplay).Get(key)
	if old == nil {
		return nil, nil
	}
	if !bytes.Equal(old, digest[:]) {
		return nil, errReplayed
	}
	t, err := p.getTranscript(tx, key)
	if err == nil && t == nil {
		return nil, fmt.Errorf("provider: replay index without transcript")
	}
	return t, err
}

// getTranscript reads, opens and parses the transcript stored under key;
// nil if there is none.
func (p *Provider) getTranscript(tx *bolt.Tx, key []byte) (*transcript.Transcript, error) {
	data := largevalue.Get(tx.Bucket(bucketTranscripts), key)
	if data == nil {
		return nil, nil
	}
	data, err := p.cfg.Seal.OpenValue(bucketTranscripts, key, data)
	if err != nil {
		return nil, fmt.Errorf("provider: stored transcript: %w", err)
	}
	if p.cfg.Seal == nil {
		data = bytes.Clone(data) // bbolt memory is valid only inside tx
	}
	t, err := transcript.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("provider: stored transcript: %w", err)
	}
	return t, nil
}

// commit stores the transcript, the replay index entry and the accounting
// entry of an answer (applyAnswer), logged (journal.go) in a transaction
// shared with concurrent requests' writes; when it returns nil all three
// are durable. If a concurrent identical request committed first, or comes
// first in the shared transaction, it returns that stored transcript
// instead (and stores nothing); if another request took the exchange,
// errReplayed. onFold, if not nil, is handed each transaction the write
// runs in. The transcript is sealed here, once, so that the record and
// node.db hold the same sealed bytes.
func (p *Provider) commit(key []byte, digest [transcript.DigestSize]byte, file []byte, e accounting.Entry, onFold func(*bolt.Tx)) (*transcript.Transcript, error) {
	sealed, err := p.cfg.Seal.SealValue(bucketTranscripts, key, file)
	if err != nil {
		return nil, err
	}
	a := &riskmeshv1.ProviderAnswerRecord{
		ExchangeKey: key, RequestDigest: digest[:], Transcript: sealed, Entry: entryRecord(&e),
	}
	var (
		won     *transcript.Transcript
		outcome answerOutcome
	)
	err = p.journal.LogMessage(&riskmeshv1.ProviderLogRecord{Op: &riskmeshv1.ProviderLogRecord_Answer{Answer: a}}, func(tx *bolt.Tx) error {
		var err error
		won = nil
		if onFold != nil {
			onFold(tx)
		}
		if outcome, err = applyAnswer(tx, a, p.bill); err != nil || outcome != answerKept {
			return err
		}
		won, err = p.storedAnswer(tx, key, digest)
		return err
	})
	if err == nil && outcome == answerReplayed {
		err = errReplayed
	}
	return won, err
}

// answerOutcome is what applyAnswer found for its exchange.
type answerOutcome uint8

const (
	// answerStored: the exchange had no answer; the record's is stored.
	answerStored answerOutcome = iota
	// answerKept: the exchange has an answer to the same request, which
	// stays; nothing is stored.
	answerKept
	// answerReplayed: the exchange has an answer to another request
	// (errReplayed); nothing is stored.
	answerReplayed
)

// applyAnswer stores a's transcript, replay index entry and bill (through
// bill) in tx unless a's exchange has an answer already: commit's write
// and its replay after a crash (journal.go). A replayed sequence number
// writes nothing and fails nothing: an error would roll the shared
// transaction back and make every other answer in it commit alone, which a
// requester racing two requests under one number could repeat at will.
func applyAnswer(tx *bolt.Tx, a *riskmeshv1.ProviderAnswerRecord, bill func(*bolt.Tx, accounting.Entry) error) (answerOutcome, error) {
	key, digest := a.GetExchangeKey(), a.GetRequestDigest()
	if err := checkExchangeKey(key); err != nil {
		return 0, err
	}
	if len(digest) != transcript.DigestSize || len(a.GetTranscript()) == 0 {
		return 0, fmt.Errorf("%w: answer without its digest or transcript", errJournalRecord)
	}
	switch old := tx.Bucket(bucketReplay).Get(key); {
	case old == nil:
	case bytes.Equal(old, digest):
		return answerKept, nil
	default:
		return answerReplayed, nil
	}
	if err := largevalue.Put(tx.Bucket(bucketTranscripts), key, a.GetTranscript()); err != nil {
		return 0, err
	}
	if err := tx.Bucket(bucketReplay).Put(key, digest); err != nil {
		return 0, err
	}
	return answerStored, bill(tx, entryOf(a.GetEntry()))
}

// bill journals an answer's entry in the outbox (PutTx: the same bucket
// write as outbox.JournalTx, which the replay uses, with the outbox's
// count and the delivery marks riding along, which a crash loses
// harmlessly: docs/node-provider.md, "Durability").
func (p *Provider) bill(tx *bolt.Tx, e accounting.Entry) error {
	_, err := p.outbox.PutTx(tx, e)
	return err
}

// entryRecord is e as an answer's record carries it.
func entryRecord(e *accounting.Entry) *riskmeshv1.ProviderLogEntry {
	return &riskmeshv1.ProviderLogEntry{
		Header: e.Header, RequestHash: e.RequestHash, ResponseHash: e.ResponseHash,
		RequesterSignature: e.RequesterSignature, ResponderSignature: e.ResponderSignature, Amount: e.Amount,
	}
}

// entryOf is the entry an answer's record carries; the outbox checks it
// as it journals it.
func entryOf(r *riskmeshv1.ProviderLogEntry) accounting.Entry {
	return accounting.Entry{
		Header: r.GetHeader(), RequestHash: r.GetRequestHash(), ResponseHash: r.GetResponseHash(),
		RequesterSignature: r.GetRequesterSignature(), ResponderSignature: r.GetResponderSignature(), Amount: r.GetAmount(),
	}
}

// pruneBatch bounds the keys deleted per transaction.
const pruneBatch = 1000

// pruneTranscripts deletes transcripts and replay entries of periods that
// fell out of retention when current became the current period.
func (p *Provider) pruneTranscripts(current uint64) error {
	if current <= p.cfg.RetainPeriods {
		return nil
	}
	cutoff := current - p.cfg.RetainPeriods + 1 // first period kept
	for {
		var n int
		err := p.cfg.DB.Update(func(tx *bolt.Tx) error {
			n = 0
			for _, name := range [][]byte{bucketTranscripts, bucketReplay, bucketLive} {
				b := tx.Bucket(name)
				var old [][]byte
				c := b.Cursor()
				for k, _ := c.First(); k != nil && len(old) < pruneBatch; k, _ = c.Next() {
					if len(k) < 8 || binary.BigEndian.Uint64(k) >= cutoff {
						break
					}
					old = append(old, bytes.Clone(k))
				}
				for _, k := range old {
					if err := largevalue.Delete(b, k); err != nil {
						return err
					}
				}
				n += len(old)
			}
			return nil
		})
		if err != nil || n == 0 {
			return err
		}
	}
}

// Transcript returns the stored transcript of an exchange this node
// answered, for audits and disputes; nil if it is unknown or pruned.
func (p *Provider) Transcript(period, sequence uint64, requester string) (*transcript.Transcript, error) {
	key := exchangeKey(&transcript.Header{Period: period, Sequence: sequence, Requester: requester})
	var t *transcript.Transcript
	// Through the journal: a live query follows its exchange's answer at
	// once, before the answer's write may be folded into node.db.
	err := p.journal.View(func(tx *bolt.Tx) error {
		var err error
		t, err = p.getTranscript(tx, key)
		return err
	})
	return t, err
}

// SealStore seals the provider's sensitive values in tx, a node.db
// written without sealing that is about to be opened with ring
// (docs/operations.md, "Sealing node.db"): transcripts in place, and each
// imported entry under its sealed key (storedImport's layout).
func SealStore(tx *bolt.Tx, ring *seal.Keyring) error {
	if b := tx.Bucket(bucketTranscripts); b != nil {
		err := largevalue.Rewrite(b, func(key, v []byte) ([]byte, error) {
			return ring.SealValue(bucketTranscripts, key, v)
		})
		if err != nil {
			return err
		}
	}
	imports := tx.Bucket(bucketImports)
	if imports == nil {
		return nil
	}
	var sources [][]byte
	err := imports.ForEachBucket(func(name []byte) error {
		sources = append(sources, bytes.Clone(name))
		return nil
	})
	if err != nil {
		return err
	}
	for _, source := range sources {
		var keys, vals [][]byte
		err := imports.Bucket(source).ForEach(func(k, v []byte) error {
			keys, vals = append(keys, bytes.Clone(k)), append(vals, bytes.Clone(v))
			return nil
		})
		if err != nil {
			return err
		}
		if err := imports.DeleteBucket(source); err != nil {
			return err
		}
		b, err := imports.CreateBucket(source)
		if err != nil {
			return err
		}
		for i, k := range keys {
			if len(k) == 0 {
				return fmt.Errorf("provider: seal imported entries of %s: empty key", source)
			}
			sk, v, err := sealImport(ring, string(source), k, vals[i])
			if err != nil {
				return err
			}
			if err := b.Put(sk, v); err != nil {
				return err
			}
		}
	}
	return nil
}
