package accounting_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// benchLedger is a ledger with a requester (Bank1) and a provider (Bank2)
// registered, category "black" priced at 2, and period 1 open.
type benchLedger struct {
	store        *accounting.EmbeddedStore
	reg, b1, b2  *accounting.Embedded
	sign1, sign2 ecsig.Sign
}

func newBenchLedger(b *testing.B, path string) *benchLedger {
	b.Helper()
	store := openStore(b, path)
	l := &benchLedger{store: store}
	var err error
	ctx := context.Background()
	l.reg, _ = store.As("RegulatorMSP")
	l.b1, _ = store.As("Bank1MSP")
	l.b2, _ = store.As("Bank2MSP")
	check := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	key := func(l *accounting.Embedded) ecsig.Sign {
		k, pub, err := ecsig.GenerateKey(rand.Reader)
		check(err)
		check(l.UpdateProfile(ctx, accounting.Profile{SigningKey: pub}))
		return ecsig.NewSigner(k, rand.Reader)
	}
	check(l.reg.AddInstitution(ctx, "Bank1MSP", "Bank 1", []accounting.Role{accounting.RoleRequester}))
	check(l.reg.AddInstitution(ctx, "Bank2MSP", "Bank 2", []accounting.Role{accounting.RoleProvider}))
	l.sign1, l.sign2 = key(l.b1), key(l.b2)
	check(l.reg.SetPrice(ctx, "black", 2))
	_, err = l.reg.Rollover(ctx)
	check(err)
	return l
}

// entry returns a signed entry of period 1 with sequence seq.
func (l *benchLedger) entry(b *testing.B, seq uint64) accounting.Entry {
	h := &transcript.Header{
		Protocol: transcript.ProtocolCatalogOPRF, Suite: transcript.SuiteRistretto255SHA512,
		Category: "black", Period: 1, Requester: "Bank1MSP", Responder: "Bank2MSP", Sequence: seq, Count: 100,
	}
	hdr, err := h.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	var sb [8]byte
	binary.BigEndian.PutUint64(sb[:], seq)
	reqHash := sha256.Sum256(append([]byte("req"), sb[:]...))
	respHash := sha256.Sum256(append([]byte("resp"), sb[:]...))
	reqDigest, err := transcript.RequestDigest(h, reqHash)
	if err != nil {
		b.Fatal(err)
	}
	respDigest := transcript.ResponseDigest(reqDigest, respHash)
	reqSig, err := l.sign1(reqDigest[:])
	if err != nil {
		b.Fatal(err)
	}
	respSig, err := l.sign2(respDigest[:])
	if err != nil {
		b.Fatal(err)
	}
	return accounting.Entry{Header: hdr, RequestHash: reqHash[:], ResponseHash: respHash[:],
		RequesterSignature: reqSig, ResponderSignature: respSig, Amount: 200}
}

// BenchmarkEmbeddedRecord measures Record throughput on the embedded ledger
// (both signatures verified per entry, one fsync'd bbolt transaction per
// batch), reported as entries/s.
func BenchmarkEmbeddedRecord(b *testing.B) {
	for _, size := range []int{1, 10, 100, 500} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			l := newBenchLedger(b, filepath.Join(b.TempDir(), "ledger.db"))
			defer l.store.Close()
			batches := make([][]accounting.Entry, b.N)
			seq := uint64(0)
			for i := range batches {
				for j := 0; j < size; j++ {
					seq++
					batches[i] = append(batches[i], l.entry(b, seq))
				}
			}
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				outs, err := l.b2.Record(ctx, batches[i])
				if err != nil || outs[0].Status != accounting.OutcomeRecorded {
					b.Fatal(err, outs)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkEmbeddedSettle settles a period of RISKMESH_SETTLE_ENTRIES
// entries (default 1,000,000) in Settle steps of chaincode.MaxSettleStep,
// reporting the time, the peak Go heap and the process's peak RSS. It runs
// only when RISKMESH_BENCH_SETTLE is set, with -benchtime=1x: filling the
// ledger takes minutes. The entries are written straight into the state
// bucket (valid, but unsigned: settlement does not re-verify signatures).
func BenchmarkEmbeddedSettle(b *testing.B) {
	if os.Getenv("RISKMESH_BENCH_SETTLE") == "" {
		b.Skip("set RISKMESH_BENCH_SETTLE=1 (and -benchtime=1x) to run")
	}
	n := 1_000_000
	if s := os.Getenv("RISKMESH_SETTLE_ENTRIES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("entries="+strconv.Itoa(n), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			dir := b.TempDir()
			path := filepath.Join(dir, "ledger.db")
			l := newBenchLedger(b, path)
			template := l.entry(b, 1)
			l.store.Close()
			fill(b, path, template, n)
			l.store = openStore(b, path)
			ctx := context.Background()
			reg, _ := l.store.As("RegulatorMSP")
			if _, err := reg.Rollover(ctx); err != nil {
				b.Fatal(err)
			}
			if err := reg.ClosePeriod(ctx, 1); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			peak := watchHeap()
			b.StartTimer()
			steps := 0
			for {
				res, err := reg.Settle(ctx, 1, chaincode.MaxSettleStep)
				if err != nil {
					b.Fatal(err)
				}
				steps++
				if res.Done {
					break
				}
			}
			b.StopTimer()
			heap := peak()
			acc, err := reg.Account(ctx, "Bank2MSP")
			if err != nil || acc.Balance != int64(n)*200 {
				b.Fatalf("provider balance %+v, %v", acc, err)
			}
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(peakRSS())/(1<<10), "peak-RSS-MiB")
			b.ReportMetric(float64(steps), "steps")
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
			l.store.Close()
		}
	})
}

// fill writes n recorded entries of period 1 (sequence 1..n) with the
// template's sizes straight into the ledger file, 50,000 per transaction.
func fill(b *testing.B, path string, template accounting.Entry, n int) {
	b.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.NoSync = true
	// Period 1 keeps its entries in buckets of 32 sequence numbers: each
	// transaction writes whole buckets (sequence numbers [k·50,016, (k+1)·50,016),
	// 1,563 buckets).
	const chunk = 50_016
	for start := 0; start <= n; start += chunk {
		err := db.Update(func(tx *bolt.Tx) error {
			bk := tx.Bucket([]byte("state"))
			bk.FillPercent = 0.9
			var entries []accounting.RecordedEntry
			for seq := max(start, 1); seq < start+chunk && seq <= n; seq++ {
				k := accounting.EntryKey{Period: 1, Requester: "Bank1MSP", Responder: "Bank2MSP", Sequence: uint64(seq)}
				entries = append(entries, accounting.RecordedEntry{Key: k, Entry: template, Category: "black", Count: 100, TxID: "fill"})
			}
			writes, err := chaincode.EntryBucketWrites(entries)
			if err != nil {
				return err
			}
			for k, v := range writes {
				if err := bk.Put([]byte(k), v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Sync(); err != nil {
		b.Fatal(err)
	}
}

// watchHeap samples the Go heap every 10 ms until the returned function is
// called, which returns the largest HeapInuse seen.
func watchHeap() func() uint64 {
	var mu sync.Mutex
	var max uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			mu.Lock()
			if m.HeapInuse > max {
				max = m.HeapInuse
			}
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		return max
	}
}

// peakRSS returns the process's peak resident set in KiB (Linux VmHWM; it
// counts the ledger file's pages mapped by bbolt), 0 if unknown.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				v, _ := strconv.ParseUint(f[1], 10, 64)
				return v
			}
		}
	}
	return 0
}
