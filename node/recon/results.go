package recon

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/riskmesh/riskmesh/psi/catalog"
)

// resultFile streams a side's matched rows to disk as they are learned,
// one JSON object per line (docs/reconciliation.md, "Result file"), so the
// intersection is never held in memory. It holds the node's own rows only.
type resultFile struct {
	f   *os.File
	w   *bufio.Writer
	enc *json.Encoder
	n   int
	// size counts the bytes written, flushed or not: the length sync
	// makes durable, which a resumed side truncates the file back to.
	// synced is the size the last sync made durable: a step that wrote
	// no row (all of phase 1) costs no fsync.
	size, synced int64
}

// resultLine is one matched row of the result file: the node's own row
// and, when labels were shared, the peer's label of it.
type resultLine struct {
	ID string `json:"id"`
	labelLine
	PeerLabel *labelLine `json:"peer_label,omitempty"`
}

// labelLine is a label as the result file writes it.
type labelLine struct {
	Category  uint8  `json:"category"`
	Reason    uint16 `json:"reason"`
	Listed    string `json:"listed,omitempty"`
	Reference string `json:"reference"`
}

func newLabelLine(l catalog.Label) labelLine {
	line := labelLine{Category: l.Category, Reason: l.Reason, Reference: hex.EncodeToString(l.Reference[:])}
	if l.Listed != 0 {
		line.Listed = l.Listed.String()
	}
	return line
}

func createResult(path string) (*resultFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("recon: create result file: %w", err)
	}
	return newResultFile(f, 0, 0), nil
}

// reopenResult opens the result file of a resumed reconciliation, cut
// back to the size and rows its saved state counts: rows written after
// that state was saved are learned again, and written once.
func reopenResult(path string, size int64, rows uint64) (*resultFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("recon: reopen result file: %w", err)
	}
	if err = f.Truncate(size); err == nil {
		_, err = f.Seek(size, io.SeekStart)
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("recon: reopen result file: %w", err)
	}
	return newResultFile(f, size, int(rows)), nil
}

func newResultFile(f *os.File, size int64, rows int) *resultFile {
	r := &resultFile{f: f, n: rows, size: size}
	r.w = bufio.NewWriter(counter{r})
	r.enc = json.NewEncoder(r.w)
	return r
}

// counter counts what the buffer passes to the file.
type counter struct{ r *resultFile }

func (c counter) Write(p []byte) (int, error) {
	n, err := c.r.f.Write(p)
	c.r.size += int64(n)
	return n, err
}

// add writes the rows at these indices of rs.
func (r *resultFile) add(rs *rows, indices []int) error {
	for _, i := range indices {
		if i < 0 || i >= rs.Len() {
			return fmt.Errorf("recon: matched row %d out of range", i)
		}
		line := resultLine{ID: string(rs.item(i)), labelLine: newLabelLine(rs.labels[i])}
		if err := r.enc.Encode(line); err != nil {
			return fmt.Errorf("recon: write result file: %w", err)
		}
		r.n++
	}
	return nil
}

// sync makes the rows written so far durable, before a saved state
// counts them.
func (r *resultFile) sync() error {
	err := r.w.Flush()
	if err == nil && r.size != r.synced {
		err = r.f.Sync()
	}
	if err != nil {
		return fmt.Errorf("recon: sync result file: %w", err)
	}
	r.synced = r.size
	return nil
}

// close flushes and syncs the file.
func (r *resultFile) close() error {
	err := r.sync()
	if cerr := r.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("recon: close result file: %w", cerr)
	}
	return err
}
