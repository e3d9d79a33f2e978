package metrics

import (
	"context"
	"errors"
	"runtime/trace"
	"strings"
	"time"

	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// Query statuses (label status of queries_total).
const (
	QueryOK         = "ok"         // every provider answered
	QueryPartial    = "partial"    // some providers answered, others did not
	QueryUnanswered = "unanswered" // no provider answered
	QueryRejected   = "rejected"   // refused before it was accepted (bad request, over budget)
	QueryFailed     = "failed"     // ended with an error after it was accepted
	QueryCanceled   = "canceled"   // the caller went away or its deadline passed
)

// Request outcomes besides the peer error codes (label status of
// provider_requests_total and peer_requests_served_total).
const (
	StatusOK        = "ok"
	StatusTransport = "transport" // no answer: connection or stream failure
	StatusCanceled  = "canceled"  // the caller's context ended first
	StatusUnknown   = "unknown"   // an error code outside the protocol
)

// QueryFunc is the requester's Query method.
type QueryFunc func(ctx context.Context, req *riskmeshv1.QueryRequest, send func(*riskmeshv1.QueryEvent) error) error

// InstrumentQuery records queries_total, query_items_total and
// query_latency_seconds around q.
func (m *Metrics) InstrumentQuery(q QueryFunc) QueryFunc {
	return func(ctx context.Context, req *riskmeshv1.QueryRequest, send func(*riskmeshv1.QueryEvent) error) error {
		ctx, task := trace.NewTask(ctx, "query")
		defer task.End()
		start := time.Now()
		m.queryItems.Add(float64(len(req.GetIdentifiers())))
		var (
			accepted bool
			result   *riskmeshv1.QueryResult
		)
		err := q(ctx, req, func(ev *riskmeshv1.QueryEvent) error {
			switch b := ev.GetBody().(type) {
			case *riskmeshv1.QueryEvent_Accepted:
				accepted = true
			case *riskmeshv1.QueryEvent_Result:
				result = b.Result
			}
			return send(ev)
		})
		m.queryLatency.Observe(time.Since(start).Seconds())
		m.queries.WithLabelValues(queryStatus(ctx, accepted, result, err)).Inc()
		return err
	}
}

func queryStatus(ctx context.Context, accepted bool, result *riskmeshv1.QueryResult, err error) string {
	switch {
	case err != nil && ctx.Err() != nil:
		return QueryCanceled
	case err != nil && !accepted:
		return QueryRejected
	case err != nil || result == nil:
		return QueryFailed
	}
	answered := 0
	for _, p := range result.GetProviders() {
		if p.GetStatus() == riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
			answered++
		}
	}
	switch {
	case answered == len(result.GetProviders()):
		return QueryOK
	case answered == 0:
		return QueryUnanswered
	default:
		return QueryPartial
	}
}

// DoFunc is one request to another node (peer.Client's Do).
type DoFunc func(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error)

// InstrumentDo records provider_requests_total around do.
func (m *Metrics) InstrumentDo(do DoFunc) DoFunc {
	return func(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
		kind := requestKind(req)
		region := trace.StartRegion(ctx, "request "+kind)
		resp, err := do(ctx, req)
		region.End()
		var status string
		var re *peer.RemoteError
		switch {
		case err == nil:
			status = responseStatus(resp)
		case errors.As(err, &re):
			status = codeStatus(re.Code)
		case ctx.Err() != nil:
			status = StatusCanceled
		default:
			status = StatusTransport
		}
		m.providerRequests.WithLabelValues(kind, status).Inc()
		return resp, err
	}
}

// InstrumentHandler records peer_requests_served_total for every request
// h answers, and evaluate_items_total and evaluate_latency_seconds for
// evaluate requests.
func (m *Metrics) InstrumentHandler(h peer.Handler) peer.Handler {
	return func(ctx context.Context, who peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		kind := requestKind(req)
		ctx, task := trace.NewTask(ctx, "serve "+kind)
		defer task.End()
		start := time.Now()
		resp := h(ctx, who, req)
		if ev := resp.GetEvaluate(); ev != nil {
			m.evaluateItems.Add(float64(len(ev.GetEvaluated()) / oprf.ElementSize))
		}
		if req.GetEvaluate() != nil {
			m.evaluateLatency.Observe(time.Since(start).Seconds())
		}
		status := responseStatus(resp)
		if resp == nil {
			// The transport answers INTERNAL for a handler that returns nil.
			status = codeStatus(riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL)
		}
		m.servedRequests.WithLabelValues(kind, status).Inc()
		return resp
	}
}

// requestKind is the name of the request's body field ("evaluate",
// "catalog_info", ...), taken from the message schema so that the label's
// values are the schema's field names and nothing a peer chooses.
func requestKind(req *riskmeshv1.PeerRequest) string {
	msg := req.ProtoReflect()
	body := msg.Descriptor().Oneofs().ByName("body")
	if body == nil {
		return "none"
	}
	f := msg.WhichOneof(body)
	if f == nil {
		return "none"
	}
	return string(f.Name())
}

func responseStatus(resp *riskmeshv1.PeerResponse) string {
	if pe := resp.GetError(); pe != nil {
		return codeStatus(pe.GetCode())
	}
	return StatusOK
}

// codeStatus turns ERROR_CODE_RATE_LIMITED into rate_limited. A code the
// protocol does not define (a peer can send any number) becomes unknown, so
// a peer cannot grow the label set.
func codeStatus(c riskmeshv1.ErrorCode) string {
	name, ok := riskmeshv1.ErrorCode_name[int32(c)]
	if !ok {
		return StatusUnknown
	}
	return strings.ToLower(strings.TrimPrefix(name, "ERROR_CODE_"))
}
