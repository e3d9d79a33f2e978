package dispute

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/backoff"
	"github.com/riskmesh/riskmesh/node/auditor"
	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// bucketRecords maps an entry key (accounting.EntryKey.String) to its
// DisputeRecord, in the node's bbolt file.
var bucketRecords = []byte("dispute/records")

// maxRecordSize bounds a stored DisputeRecord: a transcript of at most
// MaxItems elements each way, or a reconciliation dispute the auditor
// service takes (8 MiB), plus the verdict.
const maxRecordSize = 8<<20 + 64<<10

// AutoConfig configures Auto. Client and DB are required.
type AutoConfig struct {
	Client *Client
	// DB is the node's bbolt file; Auto keeps its records in
	// "dispute/records".
	DB *bbolt.DB
	// Retry is the first wait before filing a pending dispute again; it
	// doubles per attempt up to 16 x Retry (default 30 s).
	Retry time.Duration
	// RetainPeriods is how many periods before the current one settled
	// disputes are kept (default 90, as the requester keeps transcripts);
	// pending ones are kept until they settle.
	RetainPeriods uint64
	// Recorded, if set, is called inside the bbolt transaction that stores
	// each change of a dispute's state (queued PENDING, then its outcome)
	// with the change as GetQuery shows it; its error aborts the
	// transaction. node/push journals its events there.
	Recorded func(tx *bbolt.Tx, ev *riskmeshv1.PushEvent) error
	// Forget, if set, is called inside the transaction that prunes settled
	// disputes, with their keys: node/push forgets their event streams.
	Forget func(tx *bbolt.Tx, keys []*riskmeshv1.EntryKey) error
	// Logger receives outcomes without identifiers (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Seal, if set, seals the records in node.db (they hold transcripts;
	// docs/operations.md, "Sealing node.db"). Nil: plain.
	Seal *seal.Keyring
}

// Auto disputes, durably and by itself, the answers a requester node found
// bad: Enqueue stores the transcript, Run files it with the auditor and
// files again while the verdict is pending (the provider records its entry
// after answering, and the auditor or ledger may be down), reverses upheld
// disputes, and State reports where each one stands.
type Auto struct {
	cfg  AutoConfig
	wake chan struct{}
}

// NewAuto validates cfg and creates Auto's bucket.
func NewAuto(cfg AutoConfig) (*Auto, error) {
	if cfg.Client == nil || cfg.DB == nil {
		return nil, errors.New("dispute: AutoConfig.Client and DB are required")
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 30 * time.Second
	}
	cfg.RetainPeriods = cmp.Or(cfg.RetainPeriods, 90)
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	err := cfg.DB.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketRecords)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dispute: create bucket: %w", err)
	}
	return &Auto{cfg: cfg, wake: make(chan struct{}, 1)}, nil
}

// Enqueue records that t is to be disputed with claim and wakes Run. A
// transcript already enqueued keeps its record.
func (a *Auto) Enqueue(t *transcript.Transcript, claim string) error {
	data, err := t.MarshalBinary()
	if err != nil {
		return fmt.Errorf("dispute: encode transcript: %w", err)
	}
	return a.enqueue(audit.KeyOf(&t.Header), &riskmeshv1.DisputeRecord{Transcript: data, Claim: claim})
}

// enqueue stores rec, PENDING and due now, under key unless the entry is
// already disputed, and wakes Run.
func (a *Auto) enqueue(key accounting.EntryKey, rec *riskmeshv1.DisputeRecord) error {
	rec.State, rec.NextAttempt = riskmeshv1.DisputeState_DISPUTE_STATE_PENDING, timestamppb.New(a.cfg.Now())
	k := []byte(key.String())
	err := a.cfg.DB.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketRecords)
		if b.Get(k) != nil {
			return nil
		}
		if err := a.put(b, k, rec); err != nil {
			return err
		}
		return a.recorded(tx, key, rec)
	})
	if err != nil {
		return fmt.Errorf("dispute: enqueue: %w", err)
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
	return nil
}

// EnqueueReconciliation records that the reconciliation d names, this
// institution's, is to be disputed over the answer d holds, which this
// node refused (docs/reconciliation.md, "Disputes"), with claim, and wakes
// Run. A reconciliation already disputed keeps its record. It has the
// shape of recon.Config.Disputed.
func (a *Auto) EnqueueReconciliation(d *audit.ReconDispute, claim string) error {
	data, err := d.MarshalBinary()
	if err != nil {
		return fmt.Errorf("dispute: encode reconciliation dispute: %w", err)
	}
	return a.enqueue(audit.KeyOfRecon(&d.Transcript.Header), &riskmeshv1.DisputeRecord{Transcript: data, Claim: auditor.TruncateClaim(claim)})
}

// ReconFiler returns the requester.Config.ReconDispute of a node whose
// recon.Config.Dir is dir, for a reconciliation entry its bill
// reconciliation found DISPUTED: it queues the dispute from the evidence
// the node kept of the answer it refused (recon.ReadDispute), which keeps
// the record of one queued when the answer was refused, and says where it
// stands. A reconciliation of which no refused answer is kept has nothing
// the auditor could decide and is not queued. It lives here, not in
// node/recon, so that node/recon does not depend on the auditor service
// (and through it on node/provider).
func (a *Auto) ReconFiler(dir string) func(ctx context.Context, k accounting.EntryKey, claim string) (string, error) {
	return func(_ context.Context, k accounting.EntryKey, claim string) (string, error) {
		d, err := recon.ReadDispute(dir, k.Requester, k.Responder, k.Period, k.Sequence)
		if errors.Is(err, recon.ErrUnknown) {
			return "not filed: no refused answer kept, nothing an auditor could decide", nil
		}
		if err != nil {
			return "", err
		}
		if err := a.EnqueueReconciliation(d, claim); err != nil {
			return "", err
		}
		state, reason, _ := a.Status(k)
		return fmt.Sprintf("dispute queued with the auditor, %s: %s", stateText(state), reason), nil
	}
}

// stateText is a dispute state as a note shows it: "pending", "reversed".
func stateText(s riskmeshv1.DisputeState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "DISPUTE_STATE_"))
}

// EnqueueNonDelivery records that the entry under key, billed to this
// institution for an answer it never received, is to be disputed for
// non-delivery with claim, and wakes Run. An entry already disputed keeps
// its record.
func (a *Auto) EnqueueNonDelivery(key accounting.EntryKey, claim string) error {
	return a.enqueue(key, &riskmeshv1.DisputeRecord{NonDelivery: auditor.KeyToProto(key), Claim: auditor.TruncateClaim(claim)})
}

// NonDelivered is EnqueueNonDelivery in the shape of
// requester.Config.NonDelivered; a failure to store is logged.
func (a *Auto) NonDelivered(key accounting.EntryKey, reason string) {
	if err := a.EnqueueNonDelivery(key, "answer never delivered: "+reason); err != nil {
		a.cfg.Logger.Error("non-delivery dispute not queued", slog.Uint64("period", key.Period),
			slog.Uint64("sequence", key.Sequence), slog.String("error", err.Error()))
	}
}

// EnqueueLiveUnanswered records that the homomorphic step of the live
// exchange under key, whose POPRF step the provider billed, went
// unanswered: step is the query this node signed for it. It is disputed
// with claim (Client.LiveUnanswered) and Run is woken. An entry already
// disputed keeps its record.
func (a *Auto) EnqueueLiveUnanswered(key accounting.EntryKey, step *audit.LiveStep, claim string) error {
	enc, err := step.MarshalBinary()
	if err != nil {
		return fmt.Errorf("dispute: encode the live step: %w", err)
	}
	return a.enqueue(key, &riskmeshv1.DisputeRecord{Claim: auditor.TruncateClaim(claim),
		LiveUnanswered: &riskmeshv1.LiveUnanswered{Entry: auditor.KeyToProto(key), LiveStep: enc}})
}

// LiveUnanswered is EnqueueLiveUnanswered in the shape of
// requester.Config.LiveUnanswered; a failure to store is logged.
func (a *Auto) LiveUnanswered(key accounting.EntryKey, step *audit.LiveStep) {
	if err := a.EnqueueLiveUnanswered(key, step, "homomorphic answer never delivered"); err != nil {
		a.cfg.Logger.Error("live dispute not queued", slog.Uint64("period", key.Period),
			slog.Uint64("sequence", key.Sequence), slog.String("error", err.Error()))
	}
}

// Disputed is Enqueue in the shape of requester.Config.Disputed: the
// requester cannot act on a failure to store the dispute, so it is logged
// (the transcript also stays in the requester's store for a manual
// dispute).
func (a *Auto) Disputed(t *transcript.Transcript, reason string) {
	if err := a.Enqueue(t, reason); err != nil {
		a.cfg.Logger.Error("dispute not queued", slog.Uint64("period", t.Header.Period),
			slog.Uint64("sequence", t.Header.Sequence), slog.String("error", err.Error()))
	}
}

// State returns the dispute record of an entry, or nil if it was never
// disputed.
func (a *Auto) State(key accounting.EntryKey) (*riskmeshv1.DisputeRecord, error) {
	var rec *riskmeshv1.DisputeRecord
	err := a.cfg.DB.View(func(tx *bbolt.Tx) error {
		k := []byte(key.String())
		v := tx.Bucket(bucketRecords).Get(k)
		if v == nil {
			return nil
		}
		var err error
		rec, err = a.decode(k, v)
		return err
	})
	return rec, err
}

// Produced returns the billed answer the provider produced to the auditor
// for a rejected non-delivery dispute of key, if there is one. It has the
// shape of requester.Config.ProducedAnswer.
func (a *Auto) Produced(key accounting.EntryKey) (*transcript.Transcript, bool) {
	rec, err := a.State(key)
	if err != nil || rec == nil || rec.NonDelivery == nil || len(rec.Transcript) == 0 {
		return nil, false
	}
	t, err := transcript.Parse(rec.Transcript)
	return t, err == nil
}

// Status reports where the dispute of an entry stands, with the auditor's
// reason once it decided or the last filing error before that; ok is false
// if the entry was never disputed or its record is unreadable. It has the
// shape of requester.Config.DisputeStatus.
func (a *Auto) Status(key accounting.EntryKey) (state riskmeshv1.DisputeState, reason string, ok bool) {
	rec, err := a.State(key)
	if err != nil || rec == nil {
		return riskmeshv1.DisputeState_DISPUTE_STATE_UNSPECIFIED, "", false
	}
	return rec.State, shownReason(rec), true
}

// shownReason is the reason a dispute is shown with: the auditor's once it
// decided, the last filing error before that, else the claim.
func shownReason(rec *riskmeshv1.DisputeRecord) string {
	reason := rec.LastError
	if rec.Verdict != nil {
		reason = rec.Verdict.Reason
	}
	return cmp.Or(reason, rec.Claim)
}

// recordKey is the entry key of the exchange rec disputes.
func recordKey(rec *riskmeshv1.DisputeRecord) (accounting.EntryKey, error) {
	if rec.NonDelivery != nil {
		return auditor.KeyFromProto(rec.NonDelivery), nil
	}
	if lu := rec.LiveUnanswered; lu != nil {
		return auditor.KeyFromProto(lu.Entry), nil
	}
	f, err := parseFiling(rec.Transcript)
	return f.key, err
}

// filing is a dispute over a bad answer as Auto files it: the disputed
// entry's key and how to file it with a Client.
type filing struct {
	key  accounting.EntryKey
	file func(ctx context.Context, c *Client, claim string) (*Outcome, error)
}

// parseFiling parses what a dispute over a bad answer files: a catalog or
// live transcript (Client.Dispute), or a reconciliation's
// audit.ReconDispute (Client.DisputeReconciliation), told apart by its
// magic as the auditor service tells them apart.
func parseFiling(data []byte) (filing, error) {
	if audit.IsReconDispute(data) {
		d, err := audit.ParseReconDispute(data)
		if err != nil {
			return filing{}, err
		}
		return filing{key: audit.KeyOfRecon(&d.Transcript.Header), file: func(ctx context.Context, c *Client, claim string) (*Outcome, error) {
			return c.DisputeReconciliation(ctx, d, claim)
		}}, nil
	}
	t, err := transcript.Parse(data)
	if err != nil {
		return filing{}, err
	}
	return filing{key: audit.KeyOf(&t.Header), file: func(ctx context.Context, c *Client, claim string) (*Outcome, error) {
		return c.Dispute(ctx, t, claim)
	}}, nil
}

// recorded hands the state rec now has, for the exchange under key, to
// AutoConfig.Recorded inside tx.
func (a *Auto) recorded(tx *bbolt.Tx, key accounting.EntryKey, rec *riskmeshv1.DisputeRecord) error {
	if a.cfg.Recorded == nil {
		return nil
	}
	return a.cfg.Recorded(tx, &riskmeshv1.PushEvent{Type: riskmeshv1.PushEventType_PUSH_EVENT_TYPE_DISPUTE,
		Dispute: &riskmeshv1.ExchangeDispute{Key: auditor.KeyToProto(key), State: rec.State, Reason: shownReason(rec)}})
}

// pruneEvery is how often Run drops settled disputes past retention. They
// age by whole periods, so an hourly pass loses nothing, and the pass's
// ledger read (the current period, through the relay on a member of the
// embedded ledger) is made once an hour rather than once per Retry.
const pruneEvery = time.Hour

// Run files due disputes until ctx ends: at once after Enqueue, and every
// Retry while some are pending (with none pending it waits for Enqueue
// alone); and it prunes settled disputes older than RetainPeriods when it
// starts and every pruneEvery.
func (a *Auto) Run(ctx context.Context) error {
	retry := time.NewTicker(a.cfg.Retry)
	defer retry.Stop()
	prune := time.NewTicker(pruneEvery)
	defer prune.Stop()
	a.prune(ctx)
	for {
		var due <-chan time.Time // nil: nothing pending to file again
		if a.Process(ctx) > 0 {
			due = retry.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-a.wake:
		case <-due:
		case <-prune.C:
			a.prune(ctx)
		}
	}
}

// Process files every pending dispute that is due once and returns how
// many are still pending.
func (a *Auto) Process(ctx context.Context) int {
	type due struct {
		key []byte
		rec *riskmeshv1.DisputeRecord
	}
	var list []due
	pending := 0
	now := a.cfg.Now()
	err := a.cfg.DB.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
			rec, err := a.decode(k, v)
			if err != nil {
				a.cfg.Logger.Error("unreadable dispute record", slog.String("error", err.Error()))
				return nil
			}
			if rec.State != riskmeshv1.DisputeState_DISPUTE_STATE_PENDING {
				return nil
			}
			pending++
			if !rec.NextAttempt.AsTime().After(now) {
				list = append(list, due{append([]byte(nil), k...), rec})
			}
			return nil
		})
	})
	if err != nil {
		a.cfg.Logger.Error("read dispute records", slog.String("error", err.Error()))
		return pending
	}
	for _, d := range list {
		if ctx.Err() != nil {
			break
		}
		a.file(ctx, d.rec)
		settled := d.rec.State != riskmeshv1.DisputeState_DISPUTE_STATE_PENDING
		if settled {
			pending--
		}
		err := a.cfg.DB.Update(func(tx *bbolt.Tx) error {
			if err := a.put(tx.Bucket(bucketRecords), d.key, d.rec); err != nil || !settled {
				return err
			}
			key, err := recordKey(d.rec)
			if err != nil {
				return err
			}
			return a.recorded(tx, key, d.rec)
		})
		if err != nil {
			a.cfg.Logger.Error("store dispute record", slog.String("error", err.Error()))
		}
	}
	return pending
}

// prune drops settled disputes of periods more than RetainPeriods before
// the current one.
func (a *Auto) prune(ctx context.Context) {
	p, err := a.cfg.Client.cfg.Ledger.Period(ctx, 0)
	if err != nil || p.Number <= a.cfg.RetainPeriods {
		return
	}
	if _, err := a.Prune(p.Number - a.cfg.RetainPeriods); err != nil {
		a.cfg.Logger.Error("prune dispute records", slog.String("error", err.Error()))
	}
}

// Prune deletes the settled (not PENDING) disputes of periods before
// period and returns how many it deleted.
func (a *Auto) Prune(period uint64) (int, error) {
	end := []byte(accounting.EntryKey{Period: period}.String())
	n := 0
	err := a.cfg.DB.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketRecords)
		var (
			old    [][]byte
			forget []*riskmeshv1.EntryKey
		)
		c := b.Cursor()
		for k, v := c.First(); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
			// An unreadable record of an old period is dropped too (its
			// push stream, if any, is not known and stays).
			rec, err := a.decode(k, v)
			if err == nil && rec.State == riskmeshv1.DisputeState_DISPUTE_STATE_PENDING {
				continue
			}
			old = append(old, bytes.Clone(k))
			if err == nil {
				if key, err := recordKey(rec); err == nil {
					forget = append(forget, auditor.KeyToProto(key))
				}
			}
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(old)
		if a.cfg.Forget != nil {
			return a.cfg.Forget(tx, forget)
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("dispute: prune: %w", err)
	}
	return n, nil
}

// file files one dispute and updates rec with the outcome.
func (a *Auto) file(ctx context.Context, rec *riskmeshv1.DisputeRecord) {
	rec.Attempts++
	// Without jitter: the schedule is the one AutoConfig.Retry documents.
	rec.NextAttempt = timestamppb.New(a.cfg.Now().Add(backoff.Delay(a.cfg.Retry, 16*a.cfg.Retry, int(rec.Attempts))))
	if rec.NonDelivery != nil {
		a.fileNonDelivery(ctx, rec)
		return
	}
	if rec.LiveUnanswered != nil {
		a.fileLiveUnanswered(ctx, rec)
		return
	}
	f, err := parseFiling(rec.Transcript)
	if err != nil {
		rec.LastError = err.Error()
		return
	}
	out, err := f.file(ctx, a.cfg.Client, rec.Claim)
	if err != nil {
		rec.LastError = err.Error()
		return
	}
	rec.LastError = ""
	rec.Verdict = out.Verdict
	switch {
	case out.Reversed:
		rec.State = riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED
	case out.Pending:
		// No entry yet. Once the period no longer takes records, it
		// never will: file once more to close the race with a record in
		// the grace window, then call it unbilled.
		p, err := a.cfg.Client.cfg.Ledger.Period(ctx, f.key.Period)
		if err != nil || !closed(p.State) {
			return
		}
		if out, err = f.file(ctx, a.cfg.Client, rec.Claim); err != nil {
			rec.LastError = err.Error()
			return
		}
		rec.Verdict = out.Verdict
		switch {
		case out.Reversed:
			rec.State = riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED
		case out.Pending:
			rec.State = riskmeshv1.DisputeState_DISPUTE_STATE_UNBILLED
		default:
			rec.State = riskmeshv1.DisputeState_DISPUTE_STATE_REJECTED
		}
	default:
		rec.State = riskmeshv1.DisputeState_DISPUTE_STATE_REJECTED
	}
	a.cfg.Logger.Info("dispute settled", slog.Uint64("period", f.key.Period),
		slog.Uint64("sequence", f.key.Sequence), slog.String("state", rec.State.String()))
}

// fileNonDelivery files one non-delivery dispute and updates rec: the
// entry exists (reconciliation found it), so every verdict settles it.
func (a *Auto) fileNonDelivery(ctx context.Context, rec *riskmeshv1.DisputeRecord) {
	key := auditor.KeyFromProto(rec.NonDelivery)
	out, err := a.cfg.Client.NonDelivery(ctx, key, rec.Claim)
	if err != nil {
		rec.LastError = err.Error()
		return
	}
	settle(rec, out)
	if out.Produced != nil {
		if data, err := out.Produced.MarshalBinary(); err == nil {
			rec.Transcript = data // the billed answer, kept with the verdict
		}
	}
	a.cfg.Logger.Info("non-delivery dispute settled", slog.Uint64("period", key.Period),
		slog.Uint64("sequence", key.Sequence), slog.String("state", rec.State.String()))
}

// fileLiveUnanswered files one live dispute and updates rec: the entry
// exists (reconciliation found it), so every verdict settles it.
func (a *Auto) fileLiveUnanswered(ctx context.Context, rec *riskmeshv1.DisputeRecord) {
	key := auditor.KeyFromProto(rec.LiveUnanswered.Entry)
	step := new(audit.LiveStep)
	if err := step.UnmarshalBinary(rec.LiveUnanswered.LiveStep); err != nil {
		rec.LastError = err.Error()
		return
	}
	out, err := a.cfg.Client.LiveUnanswered(ctx, key, step, rec.Claim)
	if err != nil {
		rec.LastError = err.Error()
		return
	}
	settle(rec, out)
	a.cfg.Logger.Info("live dispute settled", slog.Uint64("period", key.Period),
		slog.Uint64("sequence", key.Sequence), slog.String("state", rec.State.String()))
}

// settle records on rec the verdict of a dispute of an entry the ledger
// holds, which every verdict settles: reversed, or rejected.
func settle(rec *riskmeshv1.DisputeRecord, out *Outcome) {
	rec.LastError, rec.Verdict = "", out.Verdict
	rec.State = riskmeshv1.DisputeState_DISPUTE_STATE_REJECTED
	if out.Reversed {
		rec.State = riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED
	}
}

// closed reports a period that takes no more records.
func closed(s accounting.PeriodState) bool {
	return s != accounting.PeriodOpen && s != accounting.PeriodGrace
}

// put stores rec under key, sealed with sealing on. A record decodeRecord
// would refuse as too large is refused here, rather than stored unreadable.
func (a *Auto) put(b *bbolt.Bucket, key []byte, rec *riskmeshv1.DisputeRecord) error {
	v, err := proto.MarshalOptions{Deterministic: true}.Marshal(rec)
	if err != nil {
		return err
	}
	if len(v) > maxRecordSize {
		return fmt.Errorf("dispute: record of %d bytes exceeds %d", len(v), maxRecordSize)
	}
	if v, err = a.cfg.Seal.SealValue(bucketRecords, key, v); err != nil {
		return err
	}
	return b.Put(key, v)
}

// decode opens (with sealing on) and decodes the record stored under key;
// a record moved from another key does not open (seal.ErrOpen).
func (a *Auto) decode(key, v []byte) (*riskmeshv1.DisputeRecord, error) {
	v, err := a.cfg.Seal.OpenValue(bucketRecords, key, v)
	if err != nil {
		return nil, fmt.Errorf("dispute: stored record: %w", err)
	}
	return decodeRecord(v)
}

// SealStore seals, in place, the dispute records in tx, a node.db written
// without sealing that is about to be opened with ring (docs/operations.md,
// "Sealing node.db").
func SealStore(tx *bbolt.Tx, ring *seal.Keyring) error {
	if b := tx.Bucket(bucketRecords); b != nil {
		return ring.SealBucket(b, bucketRecords)
	}
	return nil
}

// decodeRecord parses a stored record, bounded before decoding, and checks
// its transcript parses.
func decodeRecord(v []byte) (*riskmeshv1.DisputeRecord, error) {
	if len(v) > maxRecordSize {
		return nil, fmt.Errorf("dispute: record of %d bytes exceeds %d", len(v), maxRecordSize)
	}
	rec := new(riskmeshv1.DisputeRecord)
	if err := proto.Unmarshal(v, rec); err != nil {
		return nil, fmt.Errorf("dispute: decode record: %w", err)
	}
	if rec.NonDelivery != nil && len(rec.Transcript) == 0 {
		return rec, nil // no answer was delivered
	}
	if lu := rec.LiveUnanswered; lu != nil {
		if lu.Entry == nil || new(audit.LiveStep).UnmarshalBinary(lu.LiveStep) != nil {
			return nil, errors.New("dispute: stored live dispute without its entry or live step")
		}
		return rec, nil // judged on the live step, without a transcript
	}
	if _, err := parseFiling(rec.Transcript); err != nil {
		return nil, fmt.Errorf("dispute: stored transcript: %w", err)
	}
	return rec, nil
}
