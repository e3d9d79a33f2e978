package provider

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// BenchmarkHandleEvaluate measures a whole evaluate answer: checks,
// signature verification, batched evaluation with proof, response
// signature and the logged journal write of transcript, replay index and
// outbox entry. Requests are signed outside the timer.
func BenchmarkHandleEvaluate(b *testing.B) {
	for _, sealing := range []string{"plain", "sealed"} {
		n := 1000
		b.Run(fmt.Sprintf("%s/%d", sealing, n), func(b *testing.B) {
			var tweak func(*Config)
			if sealing == "sealed" { // transcripts sealed in node.db
				tweak = sealed(b)
			}
			f := newFixture(b, tweak)
			phones := make([]string, n)
			for i := range phones {
				phones[i] = fmt.Sprintf("+86138%08d", i)
			}
			q := f.newQuery(1, 0, phones...)
			blinded := q.req.GetEvaluate().GetBlinded()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				h := *q.header
				h.Sequence = uint64(i) + 100
				req := f.sign(&h, blinded)
				b.StartTimer()
				if f.handle(req).GetEvaluate() == nil {
					b.Fatal("evaluate refused")
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkJournalCommit measures the journal write of one answer of n
// items (transcript, replay index, outbox entry) as the answer waits for
// it: until its log record is durable (journal.go). Answers are appended
// one after another under rising sequence numbers, as a provider
// answering one requester stores them; the files grow as they do in a
// node. The previous answer's fold into node.db is waited for outside the
// timer, as it runs while a one-at-a-time answer travels. The transcript
// is a real answer's, encoded outside the timer.
func BenchmarkJournalCommit(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			f := newFixture(b, nil)
			q := f.newQuery(1, 0, phones(n)...)
			if f.handle(q.req).GetEvaluate() == nil {
				b.Fatal("evaluate refused")
			}
			t, err := f.p.Transcript(1, q.header.Sequence, requesterMSP)
			if err != nil || t == nil {
				b.Fatalf("stored transcript: %v, %v", t, err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				must(b, f.p.Settle())
				t.Header.Sequence = uint64(i) + 100
				file, err := t.MarshalBinary()
				must(b, err)
				hdr, err := t.Header.MarshalBinary()
				must(b, err)
				digest := [transcript.DigestSize]byte(sha256.Sum256(hdr))
				e := accounting.Entry{Header: hdr, RequestHash: digest[:], ResponseHash: digest[:],
					RequesterSignature: t.RequestSignature, ResponderSignature: t.ResponseSignature, Amount: int64(n) * price}
				b.StartTimer()
				if _, err := f.p.commit(exchangeKey(&t.Header), digest, file, e, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkImport measures a replacing import of a 100,000-row CSV file:
// parsing and normalising, staging in batches, and the final move, each
// transaction fsynced.
func BenchmarkImport(b *testing.B) {
	const rows = 100_000
	f := newFixture(b, importable)
	lines := make([]string, rows)
	for i := range lines {
		lines[i] = fmt.Sprintf("+86139%08d,1,%d,2024-05-01", i, i%1000)
	}
	req := &riskmeshv1.ImportListRequest{Source: "black-csv", Path: writeList(b, lines...), Replace: true}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		imp, err := f.p.Import(f.ctx, req)
		if err != nil || imp.GetAccepted() != rows {
			b.Fatalf("import: %v, %v", imp, err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkLiveRefresh measures how long a list change takes to become
// answerable in live mode: one Refresh of a list of n entries in which one
// entry was added (or, every other round, removed again), which rereads
// the source and applies the difference to the live database (the PRF
// evaluation of the new entry and its bins' polynomials).
func BenchmarkLiveRefresh(b *testing.B) {
	for _, n := range []int{10_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			f, list := newLiveFixture(b, ServeLive)
			var base strings.Builder
			base.WriteString("phone,cat,reason,listed\n")
			for i := range n {
				fmt.Fprintf(&base, "+86139%08d,1,%d,2024-05-01\n", i, i%1000)
			}
			list.set(base.String())
			f.maintain()
			if got := f.p.live.m[category].db.Len(); got != n {
				b.Fatalf("live database holds %d entries, want %d", got, n)
			}
			withNew := base.String() + "+8613700000001,1,5,2024-06-01\n"
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				list.set(map[bool]string{true: withNew, false: base.String()}[i%2 == 0])
				b.StartTimer()
				if _, err := f.p.Refresh(f.ctx, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
