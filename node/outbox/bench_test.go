package outbox

import (
	"path/filepath"
	"testing"

	"github.com/riskmesh/riskmesh/psi/transcript"
)

// BenchmarkPut measures journaling one entry in its own transaction: one
// bbolt commit, so one fsync, per entry (what a provider pays per answer,
// shared with the transcript it commits alongside).
func BenchmarkPut(b *testing.B) {
	n := newNetwork(b)
	db := openDB(b, filepath.Join(b.TempDir(), "node.db"))
	defer db.Close()
	o, err := Open(db, Config{Ledger: n.provider})
	must(b, err)
	e := n.entry(b, 1, 1, 0)
	h, err := transcript.ParseHeader(e.Header)
	must(b, err)
	headers := make([][]byte, b.N)
	for i := range headers {
		h.Sequence = uint64(i) + 1
		headers[i], err = h.MarshalBinary()
		must(b, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		e.Header = headers[i] // Put does not verify signatures; the ledger does
		if _, err := o.Put(e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
