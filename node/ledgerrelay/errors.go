package ledgerrelay

import "errors"

var (
	// ErrUnreachable wraps every failure that kept a relayed call from a
	// contract verdict: the connection to the ledger host failed or timed
	// out, the host refused the request (overloaded, rate limited, not
	// authorised at the transport) or its ledger is closed. For a
	// transaction sent before the failure the outcome is unknown: it may
	// have been committed.
	ErrUnreachable = errors.New("ledgerrelay: ledger unreachable")
	// ErrTooLarge is a call whose function name or argument exceeds the
	// relay's bounds (riskmeshv1.MaxLedgerFunction, MaxLedgerArgument); it
	// was not sent.
	ErrTooLarge = errors.New("ledgerrelay: call exceeds the relay's bounds")
	// ErrBadAnswer is an answer from the ledger host that is not a valid
	// relay answer (wrong body, or a rejection without a contract error).
	ErrBadAnswer = errors.New("ledgerrelay: malformed answer from the ledger host")
	// ErrNotAdmitted is a caller the host's Admission refuses (Registered:
	// a certificate the ledger's registry does not name, or a suspended
	// institution).
	ErrNotAdmitted = errors.New("ledgerrelay: caller not admitted by the ledger's registry")
)
