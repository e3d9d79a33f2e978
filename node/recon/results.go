package recon

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
)

// resultFile streams a side's matched rows to disk as they are learned,
// one JSON object per line (docs/reconciliation.md, "Result file"), so the
// intersection is never held in memory. It holds the node's own rows only.
type resultFile struct {
	f   *os.File
	w   *bufio.Writer
	enc *json.Encoder
	n   int
}

// resultLine is one matched row of the result file.
type resultLine struct {
	ID        string `json:"id"`
	Category  uint8  `json:"category"`
	Reason    uint16 `json:"reason"`
	Listed    string `json:"listed,omitempty"`
	Reference string `json:"reference"`
}

func createResult(path string) (*resultFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("recon: create result file: %w", err)
	}
	w := bufio.NewWriter(f)
	return &resultFile{f: f, w: w, enc: json.NewEncoder(w)}, nil
}

// add writes the rows at these indices of rs.
func (r *resultFile) add(rs rows, indices []int) error {
	for _, i := range indices {
		if i < 0 || i >= len(rs) {
			return fmt.Errorf("recon: matched row %d out of range", i)
		}
		l := rs[i].label
		line := resultLine{ID: string(rs[i].item), Category: l.Category, Reason: l.Reason,
			Reference: hex.EncodeToString(l.Reference[:])}
		if l.Listed != 0 {
			line.Listed = l.Listed.String()
		}
		if err := r.enc.Encode(line); err != nil {
			return fmt.Errorf("recon: write result file: %w", err)
		}
		r.n++
	}
	return nil
}

// close flushes and syncs the file.
func (r *resultFile) close() error {
	err := r.w.Flush()
	if err == nil {
		err = r.f.Sync()
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("recon: close result file: %w", err)
	}
	return nil
}
