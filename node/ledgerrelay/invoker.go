package ledgerrelay

import (
	"context"
	"errors"
	"fmt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Doer sends one peer request and returns its response frame, with a
// PeerError answer as a *peer.RemoteError: (*peer.Client).Do.
type Doer func(ctx context.Context, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error)

// Invoker is an accounting.Invoker that relays calls through a connection
// to the ledger host.
type Invoker struct {
	do Doer
}

var _ accounting.Invoker = (*Invoker)(nil)

// NewInvoker returns an Invoker sending calls with do, typically the Do
// method of a peer.Client connected to the ledger host. Wrap it with
// accounting.NewClient to get an accounting.Ledger.
func NewInvoker(do Doer) *Invoker { return &Invoker{do: do} }

// Submit relays a transaction; it returns once the host committed it.
func (inv *Invoker) Submit(ctx context.Context, fn string, arg []byte) ([]byte, error) {
	return inv.call(ctx, fn, arg, true)
}

// Evaluate relays a query.
func (inv *Invoker) Evaluate(ctx context.Context, fn string, arg []byte) ([]byte, error) {
	return inv.call(ctx, fn, arg, false)
}

func (inv *Invoker) call(ctx context.Context, fn string, arg []byte, submit bool) ([]byte, error) {
	if len(fn) > riskmeshv1.MaxLedgerFunction {
		return nil, fmt.Errorf("%w: function name of %d bytes", ErrTooLarge, len(fn))
	}
	if len(arg) > riskmeshv1.MaxLedgerArgument {
		return nil, fmt.Errorf("%w: %s argument of %d bytes exceeds %d", ErrTooLarge, fn, len(arg), riskmeshv1.MaxLedgerArgument)
	}
	resp, err := inv.do(ctx, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LedgerInvoke{
		LedgerInvoke: &riskmeshv1.LedgerInvoke{Function: fn, Submit: submit, Argument: arg},
	}})
	if err != nil {
		return nil, classify(fn, err)
	}
	res := resp.GetLedgerResult()
	if res == nil {
		return nil, fmt.Errorf("%w: %s answered without a ledger result", ErrBadAnswer, fn)
	}
	return res.GetResult(), nil
}

// classify turns a relay failure into a contract rejection (*accounting.Error,
// with the peer error as its Cause) or an ErrUnreachable.
func classify(fn string, err error) error {
	var re *peer.RemoteError
	if !errors.As(err, &re) || re.Code != riskmeshv1.ErrorCode_ERROR_CODE_LEDGER_REJECTED {
		return fmt.Errorf("%w: relay %s: %w", ErrUnreachable, fn, err)
	}
	ae, ok := accounting.ParseError(re.Message)
	if !ok {
		return fmt.Errorf("%w: %s rejected without a contract error code", ErrBadAnswer, fn)
	}
	ae.Cause = err
	return ae
}
