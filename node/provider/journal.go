package provider

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/groupcommit"
	"github.com/riskmesh/riskmesh/node/outbox"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// The provider's journal writes on a request's path (an answer's
// transcript, replay index entry and bill: store.go; a live exchange's
// step: liveserve.go) are logged (internal/groupcommit, docs/node-provider.md,
// "Durability"): each is durable once its record, a riskmeshv1
// ProviderLogRecord, is in <node.db>.provider.log, and is folded into
// node.db right after. Each write is one apply function of its record
// and the transaction, called by the write itself and by replay after a
// crash, so that the two cannot write different things: the record
// carries everything the write stores that it does not read from node.db
// (the transcript already sealed, since sealing draws a nonce), and
// decisions (answered already, replayed, step taken) are read from the
// transaction both times.

// journalLogName names the provider's log beside node.db.
const journalLogName = "provider"

// maxJournalRecord bounds a record read back from the log: an answer's
// record is its transcript (a header, two elements per item up to
// transcript.MaxItems, a proof and two signatures), sealed, with its
// entry (the header, two digests, two signatures and the amount), the
// exchange key and the request digest; recordSlack covers the length
// prefixes and protobuf framing. MaxItems, not Config.MaxBatch, so that
// lowering MaxBatch never makes an earlier record unreadable. A live
// record is far smaller.
const maxJournalRecord = seal.Overhead + 2*transcript.MaxHeaderSize + 2*transcript.MaxItems*oprf.ElementSize +
	oprf.ProofSize + 4*ecsig.MaxSignatureSize + 3*transcript.DigestSize + 16 + transcript.MaxPartyLen + recordSlack

// recordSlack is room for the fixed parts of the transcript file format
// and the protobuf framing of a record: a few dozen bytes are used.
const recordSlack = 256

// errJournalRecord reports a log record that does not decode to a write.
var errJournalRecord = errors.New("provider: journal log record unusable")

// openJournal opens the committer of the provider's journal writes,
// replaying the records a crash left unfolded.
func (p *Provider) openJournal() error {
	c, err := groupcommit.Open(p.cfg.DB, journalLogName, replayJournal)
	if err != nil {
		return fmt.Errorf("provider: open journal log: %w", err)
	}
	p.journal = c
	return nil
}

// replayJournal applies one logged record to tx, as the write that logged
// it did. An answer's bill goes into the outbox's journal without an
// Outbox (outbox.JournalTx: New opens the outbox after the replay, which
// then counts what the replay put).
func replayJournal(tx *bolt.Tx, enc []byte) error {
	rec, err := decodeJournalRecord(enc)
	if err != nil {
		return err
	}
	switch op := rec.GetOp().(type) {
	case *riskmeshv1.ProviderLogRecord_Answer:
		_, err = applyAnswer(tx, op.Answer, func(tx *bolt.Tx, e accounting.Entry) error {
			_, _, err := outbox.JournalTx(tx, e)
			return err
		})
	case *riskmeshv1.ProviderLogRecord_LiveClaim:
		_, err = applyLiveClaim(tx, op.LiveClaim)
	case *riskmeshv1.ProviderLogRecord_LiveAnswer:
		err = applyLiveAnswer(tx, op.LiveAnswer)
	default:
		err = fmt.Errorf("%w: no known write", errJournalRecord)
	}
	return err
}

// decodeJournalRecord decodes a record read back from the log, bounded
// before it is parsed (the log is the node's own file, but a damaged one
// must not make it allocate without limit).
func decodeJournalRecord(enc []byte) (*riskmeshv1.ProviderLogRecord, error) {
	if len(enc) > maxJournalRecord {
		return nil, fmt.Errorf("%w: %d bytes", errJournalRecord, len(enc))
	}
	rec := new(riskmeshv1.ProviderLogRecord)
	if err := proto.Unmarshal(enc, rec); err != nil {
		return nil, fmt.Errorf("%w: %w", errJournalRecord, err)
	}
	return rec, nil
}

// checkExchangeKey checks that a record's exchange key is one
// (exchangeKey's layout: period, sequence, a requester MSP id).
func checkExchangeKey(key []byte) error {
	if len(key) <= 16 || len(key) > 16+transcript.MaxPartyLen {
		return fmt.Errorf("%w: exchange key of %d bytes", errJournalRecord, len(key))
	}
	return nil
}

// Settle returns once every journal write whose Log returned before the
// call is folded into node.db. The outbox counts and reads its entries in
// node.db through the journal's committer, whose reads wait for the same
// fold, so it counts every bill journalled before it reads (Flush, Drain,
// the exposures' pending amounts, the backlog report); OutboxDepth, which
// reads the outbox's count, and a live backup of node.db (node/daemon)
// call it first.
func (p *Provider) Settle() error {
	return groupcommit.Settle(p.journal)
}
