package fabric

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/riskmesh/riskmesh/accounting"
)

// gatewayError builds an error as the Fabric gateway returns it: a status
// with one ErrorDetail per peer that failed.
func gatewayError(t *testing.T, code codes.Code, msg string, details ...string) error {
	t.Helper()
	st := status.New(code, msg)
	for i, d := range details {
		var err error
		st, err = st.WithDetails(&gateway.ErrorDetail{Address: fmt.Sprintf("127.0.0.1:%d", 7051+i), MspId: "Bank1MSP", Message: d})
		if err != nil {
			t.Fatal(err)
		}
	}
	return st.Err()
}

func TestCallErrorMapsContractRejections(t *testing.T) {
	c := &Client{}
	tests := []struct {
		name     string
		phase    Phase
		err      error
		sentinel error // nil: not a contract rejection
		retry    bool
	}{
		{
			name:     "endorse rejected by chaincode",
			phase:    PhaseEndorse,
			err:      gatewayError(t, codes.Aborted, "failed to endorse transaction, see attached details for more info", "chaincode response 500, riskmesh: forbidden: only the regulator may do this"),
			sentinel: accounting.ErrForbidden,
		},
		{
			name:     "evaluate rejected by chaincode",
			phase:    PhaseEvaluate,
			err:      gatewayError(t, codes.Unknown, "evaluate call to endorser returned error: chaincode response 500, riskmesh: not_found: no entry"),
			sentinel: accounting.ErrNotFound,
		},
		{
			name:  "no peers reachable",
			phase: PhaseEndorse,
			err:   gatewayError(t, codes.Unavailable, "no peers available to evaluate chaincode riskmesh"),
			retry: true,
		},
		{
			name:  "other peers disagree",
			phase: PhaseEndorse,
			err:   gatewayError(t, codes.Aborted, "failed to collect enough transaction endorsements, see attached details for more info", "ProposalResponsePayloads do not match"),
			retry: true,
		},
		{
			// The local peer endorsed; a lagging peer's verdict is not the
			// contract's.
			name:  "lagging peer rejects",
			phase: PhaseEndorse,
			err:   gatewayError(t, codes.Aborted, "failed to collect enough transaction endorsements, see attached details for more info", "chaincode response 500, riskmesh: not_found: institution Bank1MSP is not registered"),
			retry: true,
		},
		{
			name:  "endorsement policy cannot be satisfied",
			phase: PhaseEndorse,
			err:   gatewayError(t, codes.FailedPrecondition, "no combination of peers can be derived which satisfy the endorsement policy"),
		},
		{
			name:  "submit deadline",
			phase: PhaseSubmit,
			err:   gatewayError(t, codes.DeadlineExceeded, "context deadline exceeded"),
		},
		{
			name:  "orderer unavailable",
			phase: PhaseSubmit,
			err:   gatewayError(t, codes.Unavailable, "no orderers could successfully process transaction"),
			retry: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.callError(tt.phase, "tx1", tt.err)
			var txErr *TxError
			if !errors.As(err, &txErr) {
				t.Fatalf("%v: no *TxError in chain", err)
			}
			if txErr.TxID != "tx1" || txErr.Phase != tt.phase || txErr.GRPCCode != status.Code(tt.err) {
				t.Fatalf("TxError = %+v", txErr)
			}
			var ae *accounting.Error
			isContract := errors.As(err, &ae)
			if tt.sentinel == nil {
				if isContract {
					t.Fatalf("%v mapped to a contract rejection", err)
				}
			} else {
				if !isContract || !errors.Is(err, tt.sentinel) || ae.TxID != "tx1" {
					t.Fatalf("%v: want %v with tx id", err, tt.sentinel)
				}
			}
			if got := transient(tt.err) || isEndorsementShortfall(tt.err); got != tt.retry {
				t.Fatalf("transient = %v, want %v", got, tt.retry)
			}
		})
	}
}

func TestSubmitPhaseErrorsAreNotParsedAsContractErrors(t *testing.T) {
	// An orderer's message that happens to contain the contract's error form
	// must not turn a transport failure into a contract rejection.
	err := (&Client{}).callError(PhaseSubmit, "tx2", gatewayError(t, codes.Aborted, "riskmesh: forbidden: x"))
	var ae *accounting.Error
	if errors.As(err, &ae) {
		t.Fatalf("submit failure mapped to %v", ae)
	}
}

func TestIsConflict(t *testing.T) {
	for code, want := range map[peer.TxValidationCode]bool{
		peer.TxValidationCode_MVCC_READ_CONFLICT:         true,
		peer.TxValidationCode_PHANTOM_READ_CONFLICT:      true,
		peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE: false,
		peer.TxValidationCode_DUPLICATE_TXID:             false,
		peer.TxValidationCode_VALID:                      false,
	} {
		if got := isConflict(code); got != want {
			t.Errorf("isConflict(%s) = %v, want %v", code, got, want)
		}
	}
}

func TestTxErrorMessageAndUnwrap(t *testing.T) {
	inner := errors.New("boom")
	e := &TxError{TxID: "abc", Phase: PhaseCommit, ValidationCode: peer.TxValidationCode_MVCC_READ_CONFLICT, Attempts: 5, Err: inner}
	if !errors.Is(e, inner) {
		t.Fatal("Unwrap does not reach the cause")
	}
	want := "fabric: commit of tx abc: validation code MVCC_READ_CONFLICT (after 5 attempts): boom"
	if e.Error() != want {
		t.Fatalf("Error() = %q, want %q", e.Error(), want)
	}
}

// FuzzCallError feeds arbitrary gateway messages (which peers and the
// chaincode control) through the error mapping: it must never panic, always
// keep the transaction id and the Fabric error, and map to a contract
// rejection only with a known code.
func FuzzCallError(f *testing.F) {
	f.Add(int(codes.Aborted), "failed to endorse transaction, see attached details for more info", "chaincode response 500, riskmesh: forbidden: no")
	f.Add(int(codes.Aborted), "failed to collect enough transaction endorsements", "riskmesh: not_found: x")
	f.Add(int(codes.Unknown), "riskmesh: : ", "riskmesh: bogus_code: x")
	f.Add(int(codes.Unavailable), "", "")
	f.Fuzz(func(t *testing.T, code int, msg, detail string) {
		// Every gateway failure has a non-OK code (OK would be no error).
		st := status.New(codes.Code(1+uint32(code)%16), msg)
		if withDetail, err := st.WithDetails(&gateway.ErrorDetail{Message: detail}); err == nil {
			st = withDetail
		}
		for _, phase := range []Phase{PhaseEndorse, PhaseEvaluate, PhaseSubmit} {
			err := (&Client{}).callError(phase, "tx", st.Err())
			var txErr *TxError
			if !errors.As(err, &txErr) || txErr.TxID != "tx" {
				t.Fatalf("%v: lost the TxError", err)
			}
			var ae *accounting.Error
			if errors.As(err, &ae) && (accounting.Sentinel(ae.Code) == nil || ae.TxID != "tx") {
				t.Fatalf("%v: contract error with unknown code %q or without tx id", err, ae.Code)
			}
		}
	})
}
