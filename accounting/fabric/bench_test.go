package fabric_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/fabric"
	"github.com/riskmesh/riskmesh/accounting/ledgertest"
	"github.com/riskmesh/riskmesh/chaincode"
	deployfabric "github.com/riskmesh/riskmesh/deploy/fabric"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Benchmark parameters. The category and its price are the benchmark's own,
// so the run does not depend on (or disturb) what the conformance suite set.
const (
	benchCategory = "bench"
	benchPrice    = 3
	benchCount    = 100 // items per PSI request: one entry bills 100 items
	// benchCallTimeout bounds every call of the benchmark.
	benchCallTimeout = 5 * time.Minute
	// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat
	// (100 on every mainstream Linux architecture).
	clockTicks = 100
	// pprofEnv names a folder: if set, a CPU profile of Bank2's peer is
	// taken during each sub-benchmark and written there.
	pprofEnv = "RISKMESH_FABRIC_PPROF"
)

// benchSizes are the entries per transaction and the transactions kept in
// flight for each: enough concurrency to fill blocks, bounded so that a
// 2-core machine is measured, not its queues. With perResponder set, each
// responder has at most one batch in flight, as a node's outbox submits
// (node/outbox): its batches then never conflict on its spent key. Without
// it, several batches of one responder and requester are endorsed against
// the same version of that key and all but one per block fail validation
// with MVCC_READ_CONFLICT; the benchmark resubmits them (as the client's
// retry would) and reports the attempts, whose endorsements are CPU spent
// on entries that commit only later.
var benchSizes = []struct {
	entries, inflight int
	perResponder      bool
}{
	{1, 64, false},
	{100, 16, false},
	{500, 16, false},
	{500, 3, true},
}

// benchParty is one bank in the benchmark: its ledger client and its
// registered transcript-signing key.
type benchParty struct {
	msp    string
	client *fabric.Client
	key    transcriptKey
	// recorder is a second client of msp that tries each call once, so
	// that the benchmark sees and counts conflicts (recordCounting).
	recorder *fabric.Client
	// turn holds one token: a batch of this responder holds it while in
	// flight when the sub-benchmark submits as an outbox does.
	turn chan struct{}
}

type benchEnv struct {
	period  uint64
	parties []benchParty
	seq     atomic.Uint64
}

// setupBench registers the three banks (provider and requester) with fresh
// transcript keys, prices the benchmark category and opens a new period
// that captures the price.
func setupBench(b *testing.B) *benchEnv {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchCallTimeout)
	defer cancel()
	reg := newClient(b, ledgertest.RegulatorMSP, fabric.Config{})
	env := &benchEnv{}
	env.seq.Store(uint64(time.Now().UnixNano())) // unique across runs on one network
	for _, msp := range []string{ledgertest.Bank1MSP, ledgertest.Bank2MSP, ledgertest.Bank3MSP} {
		roles := []accounting.Role{accounting.RoleProvider, accounting.RoleRequester}
		if err := reg.AddInstitution(ctx, msp, msp, roles); err != nil && !errors.Is(err, accounting.ErrConflict) {
			b.Fatal(err)
		}
		if err := reg.SetRoles(ctx, msp, roles); err != nil {
			b.Fatal(err)
		}
		if err := reg.ReactivateInstitution(ctx, msp); err != nil {
			b.Fatal(err)
		}
		p := benchParty{msp: msp, client: newClient(b, msp, fabric.Config{}), key: newTranscriptKey(b),
			recorder: newClient(b, msp, fabric.Config{MaxAttempts: 1}), turn: make(chan struct{}, 1)}
		if err := p.client.UpdateProfile(ctx, accounting.Profile{SigningKey: p.key.pub}); err != nil {
			b.Fatal(err)
		}
		env.parties = append(env.parties, p)
	}
	if err := reg.SetPrice(ctx, benchCategory, benchPrice); err != nil {
		b.Fatal(err)
	}
	// A period in its grace window blocks the next rollover: close it.
	if cur, err := reg.Period(ctx, 0); err == nil && cur.Number > 1 {
		if prev, err := reg.Period(ctx, cur.Number-1); err == nil && prev.State == accounting.PeriodGrace {
			if err := reg.ClosePeriod(ctx, prev.Number); err != nil {
				b.Fatal(err)
			}
		}
	}
	p, err := reg.Rollover(ctx)
	if err != nil {
		b.Fatal(err)
	}
	env.period = p.Number
	return env
}

// batch is one Record transaction: entries billed by responder.
type batch struct {
	responder *benchParty
	entries   []accounting.Entry
}

// batches builds and signs n transactions of size entries outside the timed
// region. Responders rotate over the three banks, so every bank's gateway
// submits; each entry's requester is the next bank. A batch's sequence
// numbers are consecutive, as in a node's batch for one requester, so the
// contract reads its entry keys as one run (docs/ledger.md, Record).
func (e *benchEnv) batches(b *testing.B, n, size int) []batch {
	b.Helper()
	out := make([]batch, n)
	for i := range out {
		resp := &e.parties[i%len(e.parties)]
		req := &e.parties[(i+1)%len(e.parties)]
		out[i] = batch{responder: resp, entries: make([]accounting.Entry, size)}
		for j := range out[i].entries {
			entry, err := e.entry(req, resp)
			if err != nil {
				b.Fatal(err)
			}
			out[i].entries[j] = entry
		}
	}
	return out
}

// entry builds one accounting entry as the node would: a transcript header,
// body hashes, the requester's signature over the request digest and the
// responder's over the response digest.
func (e *benchEnv) entry(req, resp *benchParty) (accounting.Entry, error) {
	h := &transcript.Header{
		Protocol:  transcript.ProtocolCatalogOPRF,
		Suite:     transcript.SuiteRistretto255SHA512,
		Category:  benchCategory,
		Period:    e.period,
		Requester: req.msp,
		Responder: resp.msp,
		Sequence:  e.seq.Add(1),
		Count:     benchCount,
	}
	return ledgertest.SignedEntry(h, req.key.sign, resp.key.sign, benchCount*benchPrice, rand.Reader)
}

// cpuTimes returns the CPU time (user+system) of every network process.
func cpuTimes(b *testing.B, n *deployfabric.Network) map[string]time.Duration {
	b.Helper()
	out := map[string]time.Duration{}
	for _, p := range n.Processes() {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
		if err != nil {
			b.Fatal(err)
		}
		// Fields after the parenthesised command: state is field 3, utime
		// and stime are fields 14 and 15.
		i := bytes.LastIndexByte(stat, ')')
		fields := bytes.Fields(stat[i+2:])
		utime, err1 := strconv.ParseInt(string(fields[11]), 10, 64)
		stime, err2 := strconv.ParseInt(string(fields[12]), 10, 64)
		if err1 != nil || err2 != nil {
			b.Fatalf("parse /proc/%d/stat", p.PID)
		}
		out[p.Name] = time.Duration(utime+stime) * time.Second / clockTicks
	}
	return out
}

// networkRSS returns the resident memory of all network processes.
func networkRSS(b *testing.B, n *deployfabric.Network) int64 {
	b.Helper()
	var total int64
	for _, p := range n.Processes() {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID))
		if err != nil {
			b.Fatal(err)
		}
		for line := range bytes.Lines(status) {
			if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
				f := bytes.Fields(rest) // "<n> kB"
				kb, err := strconv.ParseInt(string(f[0]), 10, 64)
				if err != nil {
					b.Fatal(err)
				}
				total += kb << 10
				b.Logf("%s: RSS %d MiB", p.Name, kb>>10)
			}
		}
	}
	return total
}

// BenchmarkRecord measures entries committed per second on the real network
// for 1, 100 and 500 entries per transaction. Every entry carries two
// signatures that the chaincode verifies on each endorsing peer (3 of 4
// under the MAJORITY policy). Run it with a bounded count, e.g.
//
//	RISKMESH_FABRIC=1 go test -run '^$' -bench Record -benchtime 40x ./accounting/fabric/
func BenchmarkRecord(b *testing.B) {
	n := requireNetwork(b)
	env := setupBench(b)
	profileDir := os.Getenv(pprofEnv)
	for _, sz := range benchSizes {
		name := fmt.Sprintf("entries=%d/inflight=%d", sz.entries, sz.inflight)
		if sz.perResponder {
			name = fmt.Sprintf("entries=%d/outbox", sz.entries)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			batches := env.batches(b, b.N, sz.entries)
			ctx, cancel := context.WithTimeout(context.Background(), benchCallTimeout)
			defer cancel()
			profileDone := startPeerProfile(b, n, profileDir, fmt.Sprintf("peer-bank2-entries%d.pprof", sz.entries))
			cpu0 := cpuTimes(b, n)
			latencies := make([]time.Duration, b.N)
			var attempts atomic.Int64
			sem := make(chan struct{}, sz.inflight)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for i := range batches {
				resp := batches[i].responder
				if sz.perResponder {
					resp.turn <- struct{}{}
				}
				sem <- struct{}{}
				wg.Go(func() {
					defer func() {
						<-sem
						if sz.perResponder {
							<-resp.turn
						}
					}()
					t0 := time.Now()
					out, tries, err := recordCounting(ctx, resp.recorder, batches[i].entries)
					latencies[i] = time.Since(t0)
					attempts.Add(int64(tries))
					if err != nil {
						b.Error(err)
						return
					}
					for _, o := range out {
						if o.Status != accounting.OutcomeRecorded {
							b.Errorf("entry %d: %s %s %s", o.Index, o.Status, o.Code, o.Detail)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			cpu1 := cpuTimes(b, n)
			<-profileDone

			reportCPU(b, cpu0, cpu1, b.N*sz.entries, elapsed, latencies)
			b.ReportMetric(float64(attempts.Load())/float64(b.N), "attempts/tx")
			b.ReportMetric(float64(networkRSS(b, n))/(1<<20), "network-rss-MiB")
		})
	}
}

// recordCounting records entries through a client that tries once, and
// sends the batch again, as the client's own retry does, while it fails
// validation with an MVCC or phantom read conflict or its endorsement falls
// short (peers at different heights answered differently), up to 20
// tries. It returns the outcomes and the number of tries: each is a full
// set of endorsements.
func recordCounting(ctx context.Context, c *fabric.Client, entries []accounting.Entry) ([]accounting.Outcome, int, error) {
	for tries := 1; ; tries++ {
		out, err := c.Record(ctx, entries)
		var te *fabric.TxError
		if err == nil || tries == 20 || !errors.As(err, &te) {
			return out, tries, err
		}
		conflict := te.Phase == fabric.PhaseCommit && (te.ValidationCode == peer.TxValidationCode_MVCC_READ_CONFLICT ||
			te.ValidationCode == peer.TxValidationCode_PHANTOM_READ_CONFLICT)
		if !conflict && !(te.Phase == fabric.PhaseEndorse && fabric.IsEndorsementShortfall(te.Err)) {
			return out, tries, err
		}
	}
}

// reportCPU reports throughput, latency percentiles and the CPU time per
// entry of the peers, the chaincode servers and the orderers, each kind
// added up.
func reportCPU(b *testing.B, cpu0, cpu1 map[string]time.Duration, n int, elapsed time.Duration, latencies []time.Duration) {
	b.Helper()
	entries := float64(n)
	var peerCPU, ccCPU, ordererCPU time.Duration
	// Processes are named "peer-bank1", "orderer-regulator", "chaincode-1"
	// (deployfabric.Process): one or more of each kind.
	for name, t := range cpu1 {
		d := t - cpu0[name]
		switch {
		case strings.HasPrefix(name, "chaincode"):
			ccCPU += d
		case strings.HasPrefix(name, "orderer"):
			ordererCPU += d
		default:
			peerCPU += d
		}
	}
	slices.Sort(latencies)
	perEntry := func(d time.Duration) float64 { return float64(d.Microseconds()) / entries }
	b.ReportMetric(entries/elapsed.Seconds(), "entries/s")
	b.ReportMetric(float64(latencies[len(latencies)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Milliseconds()), "p99-ms")
	b.ReportMetric(perEntry(peerCPU), "peer-cpu-µs/entry")
	b.ReportMetric(perEntry(ccCPU), "chaincode-cpu-µs/entry")
	b.ReportMetric(perEntry(ordererCPU), "orderer-cpu-µs/entry")
}

// BenchmarkEndorseRecord measures one endorsement of a Record batch: the
// batch is evaluated (simulated) on the responder's own peer and never
// submitted, so the CPU per entry is what each endorsing peer and the
// chaincode spend on one endorsement (parsing, both signature checks, state
// reads and simulated writes). BenchmarkRecord's figures minus three times
// these (MAJORITY of 4 endorses) is what ordering, validation and commit on
// the four peers cost.
func BenchmarkEndorseRecord(b *testing.B) {
	n := requireNetwork(b)
	env := setupBench(b)
	for _, size := range []int{1, 100, 500} {
		b.Run(fmt.Sprintf("entries=%d", size), func(b *testing.B) {
			b.ReportAllocs()
			batches := env.batches(b, b.N, size)
			args := make([][]byte, len(batches))
			for i, bt := range batches {
				var err error
				if args[i], err = json.Marshal(bt.entries); err != nil {
					b.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), benchCallTimeout)
			defer cancel()
			latencies := make([]time.Duration, b.N)
			cpu0 := cpuTimes(b, n)
			b.ResetTimer()
			start := time.Now()
			// One at a time: the figure of interest is CPU per entry.
			for i, bt := range batches {
				t0 := time.Now()
				if _, err := bt.responder.client.Evaluate(ctx, chaincode.FnRecord, args[i]); err != nil {
					b.Fatal(err)
				}
				latencies[i] = time.Since(t0)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			reportCPU(b, cpu0, cpuTimes(b, n), b.N*size, elapsed, latencies)
		})
	}
}

// startPeerProfile fetches a CPU profile of Bank2's peer (a gateway and an
// endorser) for the first seconds of a sub-benchmark, if dir is set. The
// returned channel is closed when the profile is written.
func startPeerProfile(b *testing.B, n *deployfabric.Network, dir, name string) <-chan struct{} {
	b.Helper()
	done := make(chan struct{})
	if dir == "" {
		close(done)
		return done
	}
	org, err := n.Org(ledgertest.Bank2MSP)
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		defer close(done)
		resp, err := http.Get(org.ProfileURL + "/debug/pprof/profile?seconds=5")
		if err != nil {
			b.Error(err)
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			b.Error(err)
			return
		}
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			b.Error(err)
		}
	}()
	return done
}
