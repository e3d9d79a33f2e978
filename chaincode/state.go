package chaincode

// State is what the contract needs from its host: a key-value world state
// seen inside one transaction, the caller's organisation, the transaction id
// and one event. The Fabric adapter maps it onto the chaincode stub; the
// embedded ledger maps it onto a bbolt transaction. Everything a function
// writes becomes visible atomically when the host commits the transaction,
// or not at all if the function returns an error.
type State interface {
	// Get returns the value stored under key, or nil if there is none.
	Get(key string) ([]byte, error)
	// Put stores a non-empty value under key.
	Put(key string, value []byte) error
	// Range iterates over keys in [start, end) in ascending byte order. The
	// caller closes the iterator; it may stop early.
	Range(start, end string) (Iterator, error)
	// Caller returns the MSP id of the transaction's submitter.
	Caller() (string, error)
	// TxID returns the transaction id.
	TxID() string
	// SetEvent sets the transaction's event (Fabric keeps one per
	// transaction; the contract sets at most one).
	SetEvent(name string, payload []byte) error
}

// Iterator walks a key range.
type Iterator interface {
	// Next returns the next pair; ok is false at the end of the range.
	Next() (key string, value []byte, ok bool, err error)
	Close() error
}
