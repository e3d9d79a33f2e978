package requester

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Outcome feedback (docs/quality.md): the business reports, per query and
// per hit, whether the listing was confirmed or wrong; the node keeps the
// reports, adds them up per ledger entry (the exchange that carried the
// hit) and submits the counts as this institution. No identifier and no
// index leaves the node: the ledger sees counts per entry only.
//
// Three buckets hold it. feedback-hits keeps each reported hit's outcome,
// so a new report on an index replaces the old one; feedback-parts keeps
// what each (query, provider) part last contributed to each of its
// entries, so a revision moves the entry totals by the difference; and
// feedback-entries keeps each entry's totals and whether they still wait
// for the ledger.

// Quality is the ledger side of quality feedback (accounting.Ledger
// implements it).
type Quality interface {
	ReportOutcomes(ctx context.Context, reports []accounting.OutcomeReport) ([]accounting.Outcome, error)
	Scores(ctx context.Context, q accounting.QualityQuery) ([]accounting.QualityScore, error)
}

var _ Quality = accounting.Ledger(nil)

var (
	bucketFeedbackHits    = []byte("requester/feedback-hits")
	bucketFeedbackParts   = []byte("requester/feedback-parts")
	bucketFeedbackEntries = []byte("requester/feedback-entries")
)

// share is what one query part contributes to one entry.
type share struct {
	Sequence  uint64 `json:"seq"`
	Hits      uint64 `json:"hits"`
	Confirmed uint64 `json:"confirmed"`
	Wrong     uint64 `json:"wrong"`
}

// entryCounts is one entry's totals over the parts that reported on it.
type entryCounts struct {
	Key       accounting.EntryKey `json:"key"`
	Hits      uint64              `json:"hits"`
	Confirmed uint64              `json:"confirmed"`
	Wrong     uint64              `json:"wrong"`
	// Dirty is set while the totals wait for the ledger.
	Dirty bool `json:"dirty"`
	// Refused is the ledger's code for totals it refused for good.
	Refused string `json:"refused,omitempty"`
}

// report is the entry's ledger report: hits neither confirmed nor wrong
// are unknown.
func (e *entryCounts) report() accounting.OutcomeReport {
	return accounting.OutcomeReport{
		Key: e.Key, Confirmed: uint32(e.Confirmed), Wrong: uint32(e.Wrong),
		Unknown: uint32(e.Hits - e.Confirmed - e.Wrong),
	}
}

func partKey(queryID, provider string) []byte {
	return []byte(queryID + "/" + provider + "/")
}

// ReportOutcomes stores the business's outcomes for hits of one provider's
// answered part of a query and marks the entries whose counts changed for
// submission.
func (r *Requester) ReportOutcomes(ctx context.Context, req *riskmeshv1.ReportOutcomesRequest) (*riskmeshv1.ReportOutcomesResponse, error) {
	if r.cfg.Quality == nil {
		return nil, ErrNoQuality
	}
	if !names.MSPID(req.GetProvider()) {
		return nil, fmt.Errorf("%w: provider %.128q is not a valid MSP id", ErrInvalidArgument, req.GetProvider())
	}
	rec, err := r.store.get(req.GetQueryId())
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(rec.GetProviderResults(), func(p *riskmeshv1.ProviderResult) bool { return p.GetProvider() == req.GetProvider() })
	if i < 0 || rec.ProviderResults[i].GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
		return nil, fmt.Errorf("%w: %s has no answered part in query %s", ErrInvalidArgument, req.GetProvider(), rec.GetQueryId())
	}
	part := rec.ProviderResults[i]
	if len(part.GetExchanges()) == 0 {
		return nil, fmt.Errorf("%w: the part of %s records no exchange to report on", ErrInvalidArgument, req.GetProvider())
	}
	hits := map[uint32]bool{}
	for _, h := range part.GetHits() {
		hits[h.GetIndex()] = true
	}
	seen := map[uint32]bool{}
	for _, f := range req.GetHits() {
		switch {
		case !hits[f.GetIndex()]:
			return nil, fmt.Errorf("%w: identifier %d is not a hit of %s in this query", ErrInvalidArgument, f.GetIndex(), req.GetProvider())
		case seen[f.GetIndex()]:
			return nil, fmt.Errorf("%w: identifier %d reported twice", ErrInvalidArgument, f.GetIndex())
		case f.GetOutcome() != riskmeshv1.HitOutcome_HIT_OUTCOME_CONFIRMED && f.GetOutcome() != riskmeshv1.HitOutcome_HIT_OUTCOME_WRONG:
			return nil, fmt.Errorf("%w: identifier %d: outcome must be confirmed or wrong", ErrInvalidArgument, f.GetIndex())
		}
		seen[f.GetIndex()] = true
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("%w: no outcomes", ErrInvalidArgument)
	}
	p, err := r.cfg.Ledger.Period(ctx, rec.GetPeriod())
	if err != nil {
		return nil, fmt.Errorf("requester: read period %d: %w", rec.GetPeriod(), err)
	}
	if p.State == accounting.PeriodSnapshotted {
		return nil, ErrReportsFinal
	}
	var changed int
	err = r.store.commits.Update(func(tx *bolt.Tx) error {
		var err error
		changed, err = r.store.applyFeedback(tx, r.cfg.MSPID, rec, part, req.GetHits())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("requester: store outcomes: %w", err)
	}
	if changed > 0 {
		r.pokeFeedback()
	}
	return &riskmeshv1.ReportOutcomesResponse{Entries: uint32(changed)}, nil
}

// applyFeedback stores the outcomes, recomputes the part's shares and
// moves the entry totals by the difference. It returns how many entries
// changed. The outcomes and shares, per query, are sealed with sealing on;
// the entry totals are what the ledger receives.
func (s *store) applyFeedback(tx *bolt.Tx, self string, rec *riskmeshv1.QueryRecord, part *riskmeshv1.ProviderResult, fs []*riskmeshv1.HitFeedback) (int, error) {
	for _, name := range [][]byte{bucketFeedbackHits, bucketFeedbackParts} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return 0, err
		}
	}
	hb, pb := s.bucket(tx, bucketFeedbackHits), s.bucket(tx, bucketFeedbackParts)
	prefix := partKey(rec.GetQueryId(), part.GetProvider())
	for _, f := range fs {
		if err := hb.put(binary.BigEndian.AppendUint32(bytes.Clone(prefix), f.GetIndex()), []byte{byte(f.GetOutcome())}); err != nil {
			return 0, err
		}
	}
	outcomes := map[uint32]riskmeshv1.HitOutcome{}
	c := hb.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != len(prefix)+4 {
			continue
		}
		v, err := hb.open(k, v)
		if err != nil {
			return 0, err
		}
		if len(v) == 1 {
			outcomes[binary.BigEndian.Uint32(k[len(prefix):])] = riskmeshv1.HitOutcome(v[0])
		}
	}
	now := shares(part, outcomes)

	var before []share
	v, err := pb.get(prefix)
	if err != nil {
		return 0, err
	}
	if v != nil {
		if err := json.Unmarshal(v, &before); err != nil {
			return 0, fmt.Errorf("stored shares of %s: %w", prefix, err)
		}
	}
	enc, err := json.Marshal(now)
	if err != nil {
		return 0, err
	}
	if err := pb.put(prefix, enc); err != nil {
		return 0, err
	}
	eb, err := tx.CreateBucketIfNotExists(bucketFeedbackEntries)
	if err != nil {
		return 0, err
	}
	old := map[uint64]share{}
	for _, s := range before {
		old[s.Sequence] = s
	}
	changed := 0
	for _, s := range now {
		o := old[s.Sequence]
		if o == s {
			continue
		}
		key := accounting.EntryKey{Period: rec.GetPeriod(), Requester: self, Responder: part.GetProvider(), Sequence: s.Sequence}
		bk := transcriptKey(key.Period, key.Responder, key.Sequence)
		e := entryCounts{Key: key}
		if v := eb.Get(bk); v != nil {
			if err := json.Unmarshal(v, &e); err != nil {
				return 0, fmt.Errorf("stored feedback of entry %d: %w", key.Sequence, err)
			}
		}
		// A part's old share was added before, so the totals cover it.
		e.Hits = e.Hits - o.Hits + s.Hits
		e.Confirmed = e.Confirmed - o.Confirmed + s.Confirmed
		e.Wrong = e.Wrong - o.Wrong + s.Wrong
		e.Dirty, e.Refused = true, ""
		v, err := json.Marshal(&e)
		if err != nil {
			return 0, err
		}
		if err := eb.Put(bk, v); err != nil {
			return 0, err
		}
		changed++
	}
	return changed, nil
}

// shares spreads a part's hits over the exchanges that carried them: in
// index order, each exchange takes at most as many hits as it carried of
// the part's items. Which exchange a hit lands in changes no score (they
// bill one provider, category and period alike); the cap keeps every
// entry's hits within its items.
func shares(part *riskmeshv1.ProviderResult, outcomes map[uint32]riskmeshv1.HitOutcome) []share {
	ex := slices.SortedFunc(slices.Values(part.GetExchanges()), func(a, b *riskmeshv1.SentExchange) int {
		return cmp.Compare(a.GetSequence(), b.GetSequence())
	})
	idx := make([]uint32, 0, len(part.GetHits()))
	for _, h := range part.GetHits() {
		idx = append(idx, h.GetIndex())
	}
	slices.Sort(idx)
	out := make([]share, 0, len(ex))
	for _, e := range ex {
		s := share{Sequence: e.GetSequence()}
		for len(idx) > 0 && s.Hits < uint64(e.GetItems()) {
			s.Hits++
			switch outcomes[idx[0]] {
			case riskmeshv1.HitOutcome_HIT_OUTCOME_CONFIRMED:
				s.Confirmed++
			case riskmeshv1.HitOutcome_HIT_OUTCOME_WRONG:
				s.Wrong++
			}
			idx = idx[1:]
		}
		out = append(out, s)
	}
	return out
}

// pruneFeedback drops the feedback of queries retention removed and the
// entry totals of periods before minPeriod (their reports are final on
// the ledger long before).
func (s *store) pruneFeedback(minPeriod uint64) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		if eb := tx.Bucket(bucketFeedbackEntries); eb != nil {
			c := eb.Cursor()
			for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) < minPeriod; k, _ = c.First() {
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
		}
		pb, hb, qb := tx.Bucket(bucketFeedbackParts), tx.Bucket(bucketFeedbackHits), tx.Bucket(bucketQueries)
		if pb == nil || hb == nil {
			return nil
		}
		var gone [][]byte
		err := pb.ForEach(func(k, _ []byte) error {
			id, _, _ := bytes.Cut(k, []byte("/"))
			if qb.Get(id) == nil {
				gone = append(gone, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, prefix := range gone {
			if err := pb.Delete(prefix); err != nil {
				return err
			}
			c := hb.Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
				if err := c.Delete(); err != nil {
					return err
				}
			}
			n++
		}
		return nil
	})
	return n, err
}
