package accounting

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// String writes the head as SEQ:HEX, the decimal sequence number and the
// record's hash, as `riskmesh ledger verify-log` and `riskmesh node backup`
// print it for the operator to keep.
func (h LogHead) String() string {
	return strconv.FormatUint(h.Sequence, 10) + ":" + hex.EncodeToString(h.Hash[:])
}

// ParseLogHead reads a head written as String writes it.
func ParseLogHead(s string) (LogHead, error) {
	var h LogHead
	seq, hx, ok := strings.Cut(s, ":")
	n, err := strconv.ParseUint(seq, 10, 64)
	b, herr := hex.DecodeString(hx)
	if !ok || err != nil || herr != nil || len(b) != len(h.Hash) {
		return h, fmt.Errorf("%w: %q", ErrLogHead, s)
	}
	h.Sequence = n
	copy(h.Hash[:], b)
	return h, nil
}
