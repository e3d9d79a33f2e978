package chaincode

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/riskmesh/riskmesh/internal/cputime"
)

// endorseState is a state whose writes go nowhere, as an endorsement's
// (simulated, not committed): every batch of the benchmark reads the same
// state, whatever ran before it.
type endorseState struct{ *memState }

func (endorseState) Put(string, []byte) error { return nil }

// BenchmarkRecord measures the contract's own work per entry, with no host
// around it: Record batches of consecutive entries from one requester,
// signed and encoded outside the timer, run on an in-memory state. It is
// what every endorsement of a Fabric Record spends in the contract, less
// the shim's state calls (docs/benchmarks.md, "Contract CPU per entry").
func BenchmarkRecord(b *testing.B) {
	for _, size := range []int{1, 10, 100, 500} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			c, err := New("Reg")
			if err != nil {
				b.Fatal(err)
			}
			st := seeded(b, c)
			sign := signers(b, c, st, "A", "B")
			st.caller = "B"
			endorser := endorseState{st}
			args := make([][]byte, b.N)
			seq := uint64(0)
			for i := range args {
				batch := make([]Entry, size)
				for j := range batch {
					seq++
					batch[j] = signedEntry(b, sign, "A", seq, 0)
				}
				if args[i], err = json.Marshal(batch); err != nil {
					b.Fatal(err)
				}
			}
			recorded := []byte(`"status":"recorded"`)
			b.ResetTimer()
			cpu0 := cputime.Self()
			for _, arg := range args {
				res, err := c.Invoke(endorser, FnRecord, arg)
				if err != nil {
					b.Fatal(err)
				}
				if n := bytes.Count(res, recorded); n != size {
					b.Fatalf("%d of %d entries recorded: %.300s", n, size, res)
				}
			}
			b.ReportMetric(float64((cputime.Self()-cpu0).Nanoseconds())/1e3/float64(b.N*size), "cpu-µs/entry")
		})
	}
}
