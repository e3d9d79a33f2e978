package fabric

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/riskmesh/riskmesh/accounting"
)

var (
	ErrConfig = errors.New("fabric: invalid configuration")
	ErrClosed = errors.New("fabric: client closed")
)

// Phase is the step of a call in which a Fabric failure happened.
type Phase string

const (
	PhaseEndorse      Phase = "endorse"
	PhaseSubmit       Phase = "submit"
	PhaseCommitStatus Phase = "commit status"
	PhaseCommit       Phase = "commit"
	PhaseEvaluate     Phase = "evaluate"
)

// TxError is a Fabric failure of one call: which transaction, in which
// phase, after how many attempts. For PhaseCommit, ValidationCode is the
// peer's verdict (e.g. MVCC_READ_CONFLICT, ENDORSEMENT_POLICY_FAILURE); for
// the other phases GRPCCode is the gateway's status code.
type TxError struct {
	TxID           string
	Phase          Phase
	ValidationCode peer.TxValidationCode
	GRPCCode       codes.Code
	Attempts       int
	Err            error
}

func (e *TxError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fabric: %s", e.Phase)
	if e.TxID != "" {
		fmt.Fprintf(&b, " of tx %s", e.TxID)
	}
	if e.Phase == PhaseCommit {
		fmt.Fprintf(&b, ": validation code %s", e.ValidationCode)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap returns the gateway's error (a gRPC status error, or
// fabric-gateway's *client.CommitError).
func (e *TxError) Unwrap() error { return e.Err }

// conflictCodes are the validation codes of a transaction that lost a race
// on a key it read: endorsing it again sees the new state and may succeed.
func isConflict(code peer.TxValidationCode) bool {
	return code == peer.TxValidationCode_MVCC_READ_CONFLICT || code == peer.TxValidationCode_PHANTOM_READ_CONFLICT
}

// transient reports whether a gateway error means that no peer or orderer
// was reachable, the one transport failure worth retrying. A deadline is not
// retried: the phase already had its time, and the caller's context decides
// whether there is more.
func transient(err error) bool {
	return status.Code(err) == codes.Unavailable
}

// endorsementShortfall is the Fabric 2.5 gateway's message when the
// organisation's own peer endorsed but not enough other peers agreed: they
// failed or returned a different result. On a healthy network that means a
// peer that has not yet committed the block the local peer just committed
// (read-your-writes holds only on the local peer), so the proposal is worth
// endorsing again. It is not an endorsement-policy failure at validation,
// and the lagging peers' contract errors are not the contract's verdict.
const endorsementShortfall = "failed to collect enough transaction endorsements"

func isEndorsementShortfall(err error) bool {
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.Aborted && strings.Contains(st.Message(), endorsementShortfall)
}

// messages returns the error message and the messages of every peer or
// orderer detail attached to a gateway status error, where chaincode
// rejections are reported ("chaincode response 500, riskmesh: forbidden: ...").
func messages(err error) []string {
	msgs := []string{err.Error()}
	st, ok := status.FromError(err)
	if !ok {
		return msgs
	}
	for _, d := range st.Details() {
		if ed, ok := d.(*gateway.ErrorDetail); ok {
			msgs = append(msgs, ed.GetMessage())
		}
	}
	return msgs
}

// contractError finds a contract rejection in a failed endorsement or
// evaluation and returns it as an *accounting.Error carrying the
// transaction id and the Fabric failure; ok is false if the failure is not
// the contract's.
func contractError(txErr *TxError) (*accounting.Error, bool) {
	for _, m := range messages(txErr.Err) {
		if ae, ok := accounting.ParseError(m); ok {
			ae.TxID = txErr.TxID
			ae.Cause = txErr
			return ae, true
		}
	}
	return nil, false
}
