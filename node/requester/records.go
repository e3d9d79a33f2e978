package requester

import (
	"context"
	"fmt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/printable"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// GetQuery returns a persisted query, complete or still running. A
// provider part the Query stream reported UNAVAILABLE may show a late
// answer here (Config.LateAnswerWindow).
func (r *Requester) GetQuery(_ context.Context, id string) (*riskmeshv1.QueryRecord, error) {
	rec, err := r.store.get(id)
	if err != nil {
		return nil, err
	}
	r.disputeStatus(rec.ProviderResults)
	r.disputeStatus(rec.GetResult().GetProviders())
	return rec, nil
}

// disputeStatus brings the disputes of provider results up to date from
// Config.DisputeStatus.
func (r *Requester) disputeStatus(results []*riskmeshv1.ProviderResult) {
	if r.cfg.DisputeStatus == nil {
		return
	}
	for _, pr := range results {
		for _, d := range pr.Disputes {
			k := d.GetKey()
			key := accounting.EntryKey{Period: k.GetPeriod(), Requester: k.GetRequester(), Responder: k.GetResponder(), Sequence: k.GetSequence()}
			if state, reason, ok := r.cfg.DisputeStatus(key); ok {
				// The reason is the auditor's text.
				d.State, d.Reason = state, printable.String(reason, audit.MaxReasonLen)
			}
		}
	}
}

// Page sizes of ListQueries.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// ListQueries lists persisted queries newest first, a page at a time.
func (r *Requester) ListQueries(_ context.Context, req *riskmeshv1.ListQueriesRequest) (*riskmeshv1.ListQueriesResponse, error) {
	f := listFilter{category: req.GetCategory(), size: int(req.GetPageSize())}
	switch {
	case f.size == 0:
		f.size = DefaultPageSize
	case f.size > MaxPageSize:
		return nil, fmt.Errorf("%w: page_size %d (at most %d)", ErrInvalidArgument, f.size, MaxPageSize)
	}
	if s := req.GetSince(); s != nil {
		f.since = s.AsTime()
	}
	if tok := req.GetPageToken(); tok != "" {
		k, err := decodePageToken(tok)
		if err != nil {
			return nil, err
		}
		f.after = k
	}
	recs, next, err := r.store.list(f)
	if err != nil {
		return nil, err
	}
	resp := &riskmeshv1.ListQueriesResponse{}
	for _, rec := range recs {
		resp.Queries = append(resp.Queries, summarize(rec))
	}
	if next != nil {
		resp.NextPageToken = encodePageToken(next)
	}
	return resp, nil
}

func summarize(rec *riskmeshv1.QueryRecord) *riskmeshv1.QuerySummary {
	s := &riskmeshv1.QuerySummary{
		QueryId: rec.QueryId, State: rec.State, Category: rec.Category, Period: rec.Period,
		Identifiers: rec.Identifiers, CreatedAt: rec.CreatedAt, ClientRequestId: rec.ClientRequestId,
	}
	hit := map[uint32]bool{}
	for _, pr := range rec.ProviderResults {
		s.Amount += pr.Amount
		for _, h := range pr.Hits {
			hit[h.Index] = true
		}
	}
	s.HitIdentifiers = uint32(len(hit))
	return s
}

// GetTranscript returns a stored transcript of this node's exchanges in
// its file encoding (the business API's GetTranscript); ErrNotFound if it
// is unknown or past retention.
func (r *Requester) GetTranscript(_ context.Context, req *riskmeshv1.GetTranscriptRequest) (*riskmeshv1.GetTranscriptResponse, error) {
	t, err := r.Transcript(req.GetPeriod(), req.GetResponder(), req.GetSequence())
	if err != nil {
		return nil, err
	}
	data, err := t.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encode transcript: %w", err)
	}
	return &riskmeshv1.GetTranscriptResponse{Transcript: data}, nil
}

// Transcript returns a stored transcript of this node's exchanges, for
// audits and disputes.
func (r *Requester) Transcript(period uint64, responder string, seq uint64) (*transcript.Transcript, error) {
	return r.store.transcript(period, responder, seq)
}
