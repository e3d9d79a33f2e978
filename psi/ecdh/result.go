package ecdh

// Result is what a party learns at the end of a session: which of its own
// items are in the intersection, and the size of the other party's set
// (which every variant reveals).
type Result struct {
	// Matches holds indices into the party's own items, ascending.
	Matches []int
	// PeerSize is the number of items in the other party's set.
	PeerSize int
}
