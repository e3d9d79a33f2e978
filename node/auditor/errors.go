package auditor

import "errors"

var (
	// ErrNotRequester: only the transcript's requester may dispute it.
	ErrNotRequester = errors.New("auditor: caller is not the transcript's requester")
	// ErrTranscript: the dispute's transcript does not parse or its parts
	// disagree with its header.
	ErrTranscript = errors.New("auditor: malformed transcript")
	// ErrClaim: the requester's claim is too long or not UTF-8.
	ErrClaim = errors.New("auditor: malformed claim")
	// ErrNotAuditor: this institution cannot judge the dispute (no active
	// auditor role on the ledger, or it is a party to the entry).
	ErrNotAuditor = errors.New("auditor: cannot judge this dispute")
	// ErrBusy: the caller already has Config.MaxInFlight disputes being
	// judged; retry when one has returned.
	ErrBusy = errors.New("auditor: too many disputes in flight from this institution")
	// ErrStore: the dispute store failed or holds an unreadable record.
	ErrStore = errors.New("auditor: dispute store")
	// ErrNoRedeliver: a non-delivery dispute reached an auditor that
	// cannot ask providers for their billed answers (Config.Redeliver).
	ErrNoRedeliver = errors.New("auditor: cannot ask providers for billed answers")
	// ErrKey: a non-delivery dispute names no valid entry key.
	ErrKey = errors.New("auditor: malformed entry key")
)
