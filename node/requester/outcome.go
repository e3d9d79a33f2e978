package requester

import (
	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// outcome is how an exchange (or several, merged) ended.
type outcome struct {
	status   riskmeshv1.ProviderStatus
	results  []catalogpsi.Result // one per id, ANSWERED only
	err      *riskmeshv1.PeerError
	attempts uint32
	// billed is the number of items the provider may bill: those of
	// ANSWERED and DISPUTED exchanges.
	billed int
	// transcripts are the exchanges kept: ANSWERED ones and DISPUTED
	// answers well-formed enough to be recorded.
	transcripts []*transcript.Transcript
	// maxItems, for a provider that refused the batch as too large, is the
	// most items it accepts (fewer than were sent).
	maxItems int
	// disputed lists the DISPUTED exchanges whose transcript was kept, as
	// the query record reports them.
	disputed []disputedExchange
	// items is the number of identifiers the outcome covers.
	items int
	// late, for an UNAVAILABLE exchange whose request may have reached the
	// provider, is the fetch still asking for its answer after the
	// deadline; this outcome's identifiers start at lateLo in its exchange.
	late   *lateFetch
	lateLo int
	// sent are the requests signed for the outcome's identifiers, for
	// reconciliation to match ledger entries against.
	sent []*riskmeshv1.SentExchange
}

// slice is the share of o of the n identifiers at lo in its exchange: a
// coalesced part's results and billed items.
func (o outcome) slice(lo, n int) outcome {
	s := o
	s.items = n
	if o.results != nil {
		s.results = o.results[lo : lo+n]
	}
	if o.billed > 0 {
		s.billed = n
	}
	if o.late != nil {
		s.lateLo = o.lateLo + lo
	}
	s.sent = nil
	for _, e := range o.sent {
		s.sent = append(s.sent, &riskmeshv1.SentExchange{Sequence: e.Sequence, Items: uint32(n)})
	}
	return s
}

// disputedExchange is one DISPUTED exchange: its ledger entry key and why.
type disputedExchange struct {
	key    accounting.EntryKey
	reason string
}

// merge combines the outcomes of consecutive exchanges: the worst status,
// the last error, and results only if every exchange was ANSWERED.
func merge(parts []outcome) outcome {
	o := outcome{status: riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED}
	for _, p := range parts {
		o.attempts += p.attempts
		o.billed += p.billed
		o.transcripts = append(o.transcripts, p.transcripts...)
		o.disputed = append(o.disputed, p.disputed...)
		o.sent = append(o.sent, p.sent...)
		if p.err != nil {
			o.err = p.err
		}
		if worse(p.status, o.status) {
			o.status = p.status
		}
		o.results = append(o.results, p.results...)
	}
	if o.status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
		o.results = nil
	}
	return o
}

// worse orders statuses for merging: one disputed answer makes the whole
// disputed, and so on.
func worse(a, b riskmeshv1.ProviderStatus) bool {
	rank := map[riskmeshv1.ProviderStatus]int{
		riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED:    0,
		riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE: 1,
		riskmeshv1.ProviderStatus_PROVIDER_STATUS_REFUSED:     2,
		riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED:    3,
	}
	return rank[a] > rank[b]
}

// stopped is the error of a provider part the node's shutdown or crash
// cut short.
func stopped() *riskmeshv1.PeerError {
	return &riskmeshv1.PeerError{Code: riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: "the node stopped before the provider answered"}
}
