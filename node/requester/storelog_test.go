package requester

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/internal/groupcommit"
	"github.com/riskmesh/riskmesh/node/push"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/node/seal/sealtest"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// loggedWrite is one logged write of a requester under test: its record,
// a copy of node.db as it was just before it and one of the requester's
// log just after it (the record durable: a crash there leaves both files
// so), and the requester's and push's buckets just after it.
type loggedWrite struct {
	rec         []byte
	before, log string
	after       dump
}

// kind names the operation of w's record.
func (w loggedWrite) kind() string {
	rec := new(riskmeshv1.RequesterLogRecord)
	if proto.Unmarshal(w.rec, rec) != nil {
		return "malformed"
	}
	switch rec.Op.(type) {
	case *riskmeshv1.RequesterLogRecord_Create:
		return "create"
	case *riskmeshv1.RequesterLogRecord_Update:
		return "update"
	case *riskmeshv1.RequesterLogRecord_Reserve:
		return "reserve"
	}
	return "none"
}

// logWatch stands between a requester's store and its committer: it runs
// the logged writes one at a time and keeps each as a loggedWrite.
type logWatch struct {
	committer
	logPath string // the requester's log
	dir     string
	ring    *seal.Keyring

	mu     sync.Mutex
	writes []loggedWrite
}

func (w *logWatch) LogMessage(m proto.Message, fn func(*bolt.Tx) error) error {
	rec, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	lw := loggedWrite{rec: bytes.Clone(rec),
		before: filepath.Join(w.dir, fmt.Sprintf("before-%d.db", len(w.writes))),
		log:    filepath.Join(w.dir, fmt.Sprintf("log-%d", len(w.writes)))}
	if err := w.View(func(tx *bolt.Tx) error { return tx.CopyFile(lw.before, 0o600) }); err != nil {
		return err
	}
	if err := w.committer.LogMessage(m, fn); err != nil {
		return err
	}
	// The fold runs meanwhile, but writes nothing to the log: only the
	// next batch, which waits for w.mu, would.
	data, err := os.ReadFile(w.logPath)
	if err != nil {
		return err
	}
	if err := os.WriteFile(lw.log, data, 0o600); err != nil {
		return err
	}
	if lw.after, err = dumpOf(w.View, w.ring); err != nil {
		return err
	}
	w.writes = append(w.writes, lw)
	return nil
}

// of returns the writes logged so far.
func (w *logWatch) of() []loggedWrite {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.writes)
}

// pushOnly is a push destination that is never started: the outbox
// journals its events, which is all these tests read.
type pushOnly struct{}

func (pushOnly) Send(context.Context, push.Message) error { return nil }

// withPush returns a setup tweak that journals the requester's events in
// a push outbox on its own node.db, with sealing under ring (nil: off).
func withPush(t *testing.T, ring *seal.Keyring) func(*setup) {
	return func(s *setup) {
		s.Seal = ring
		s.Recorded = outbox(t, s.DB, ring).RecordTx
	}
}

func outbox(t *testing.T, db *bolt.DB, ring *seal.Keyring) *push.Outbox {
	t.Helper()
	o, err := push.Open(push.Config{DB: db, MSPID: requesterMSP, Seal: ring,
		Destinations: []push.Destination{{Name: "all", Sender: pushOnly{}}}})
	must(t, err)
	return o
}

// watchedRequester opens a requester in dir whose logged writes w keeps.
func (n *network) watchedRequester(t *testing.T, dir string, ring *seal.Keyring) (*Requester, *logWatch) {
	t.Helper()
	r := n.newRequester(dir, withPush(t, ring))
	w := &logWatch{committer: r.store.commits, logPath: r.cfg.DB.Path() + "." + logName + ".log", dir: t.TempDir(), ring: ring}
	r.store.commits = w
	return r, w
}

// dump is the content of the requester's and push's buckets, child
// buckets and bucket sequences included; push's events, which it seals
// itself with a fresh nonce, opened.
type dump map[string]string

var pushEvents = []byte("push/events")

func dumpOf(view func(func(*bolt.Tx) error) error, ring *seal.Keyring) (dump, error) {
	d := dump{}
	err := view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if !bytes.HasPrefix(name, []byte("requester/")) && !bytes.HasPrefix(name, []byte("push/")) {
				return nil
			}
			var open func(k, v []byte) ([]byte, error)
			if bytes.Equal(name, pushEvents) {
				open = func(k, v []byte) ([]byte, error) { return ring.OpenValue(pushEvents, k, v) }
			}
			return d.add(string(name), b, open)
		})
	})
	return d, err
}

func (d dump) add(path string, b *bolt.Bucket, open func(k, v []byte) ([]byte, error)) error {
	d[path+" sequence"] = strconv.FormatUint(b.Sequence(), 10)
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			return d.add(path+"/"+hex.EncodeToString(k), b.Bucket(k), nil)
		}
		if open != nil {
			var err error
			if v, err = open(k, v); err != nil {
				return err
			}
		}
		d[path+" "+hex.EncodeToString(k)] = string(v)
		return nil
	})
}

// diff names the entries d and e hold differently, "" if none.
func (d dump) diff(e dump) string {
	var out []string
	for k, v := range d {
		if w, ok := e[k]; !ok || w != v {
			out = append(out, k)
		}
	}
	for k := range e {
		if _, ok := d[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		return ""
	}
	return fmt.Sprint(out)
}

// crashed returns a node directory as a crash leaves it with node.db a
// copy of before and, unless log is "", the requester's log a copy of log.
func crashed(t *testing.T, before, log string) string {
	t.Helper()
	dir := t.TempDir()
	cp := func(from, to string) {
		data, err := os.ReadFile(from)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(dir, to), data, 0o600))
	}
	cp(before, "node.db")
	if log != "" {
		cp(log, "node.db."+logName+".log")
	}
	return dir
}

// replayOn opens the store on a node directory crashed leaves, as the
// requester's New does (groupcommit.Open replays what the log holds
// unfolded, push journalling the events), and returns the buckets then.
func replayOn(t *testing.T, ring *seal.Keyring, before, log string) dump {
	t.Helper()
	db, err := bolt.Open(filepath.Join(crashed(t, before, log), "node.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	must(t, err)
	defer db.Close()
	s, err := openStore(db, ring, time.Now, outbox(t, db, ring).RecordTx, nil)
	must(t, err)
	defer s.commits.Close()
	d, err := dumpOf(s.commits.View, ring)
	must(t, err)
	return d
}

func sealings(t *testing.T, run func(t *testing.T, ring *seal.Keyring)) {
	t.Run("plain", func(t *testing.T) { run(t, nil) })
	t.Run("sealed", func(t *testing.T) { run(t, sealtest.Keyring(t)) })
}

// Every logged write, replayed on node.db as it was before the write,
// leaves the requester's and push's buckets exactly as the write did:
// creations (one finding its client request id taken, which writes
// nothing), sequence reservations, rewrites with one part, with two
// parts at once, and with the result.
func TestLogReplayWritesWhatTheWriteWrote(t *testing.T) {
	sealings(t, func(t *testing.T, ring *seal.Keyring) {
		n := newNetwork(t, 1_000_000, span(0, 10), span(5, 15))
		r, w := n.watchedRequester(t, "", ring)
		ready(t, r)
		query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(3, 7, 50), ClientRequestId: "c-1"})
		query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(3, 7, 50), ClientRequestId: "c-1"})
		// P2 answers once P1's part is stored: a rewrite with one part,
		// then one with the last and the result.
		hang := make(chan struct{})
		n.providers[1].set(func(p *testProvider) { p.hang = hang })
		queried := make(chan error, 1)
		go func() {
			queried <- r.Query(context.Background(), &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(6)},
				func(*riskmeshv1.QueryEvent) error { return nil })
		}()
		waitFor(t, "P1's part stored", func() bool {
			recs, _, err := r.store.running()
			return err == nil && len(recs) == 1 && len(recs[0].ProviderResults) == 1
		})
		close(hang)
		must(t, <-queried)

		kinds := map[string]int{}
		unchanged := 0
		for i, lw := range w.of() {
			kinds[lw.kind()]++
			if replayOn(t, ring, lw.before, "").diff(lw.after) == "" {
				unchanged++
			}
			if diff := lw.after.diff(replayOn(t, ring, lw.before, lw.log)); diff != "" {
				t.Errorf("write %d (%s): the replay wrote otherwise: %s", i, lw.kind(), diff)
			}
		}
		if kinds["create"] != 3 || kinds["reserve"] < 2 || kinds["update"] < 3 {
			t.Fatalf("logged writes %v, want 3 creations, 2 reservations and at least 3 updates", kinds)
		}
		if unchanged != 1 {
			t.Fatalf("%d logged writes changed nothing, want 1 (the creation that found its client request id)", unchanged)
		}
	})
}

// restartFrom starts a requester on a node directory crashed leaves.
func (n *network) restartFrom(t *testing.T, ring *seal.Keyring, before, log string) *Requester {
	t.Helper()
	return n.newRequester(crashed(t, before, log), withPush(t, ring))
}

// A crash that leaves a logged write durable but not yet in node.db takes
// nothing back that the caller was told: after the creation, the
// restarted node knows the query (INTERRUPTED) and a retry with its
// client request id replays it instead of asking the provider again;
// after the last part's rewrite, the query is COMPLETE with the result,
// spend and transcript the stream reported. Without the replay, the same
// node.db has neither (the test's control).
func TestLoggedWritesSurviveACrashBeforeTheirFold(t *testing.T) {
	ctx := context.Background()
	sealings(t, func(t *testing.T, ring *seal.Keyring) {
		n := newNetwork(t, 1_000_000, span(0, 10))
		r, w := n.watchedRequester(t, "", ring)
		ready(t, r)
		req := &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(3, 50), ClientRequestId: "c-1"}
		stream := query(t, r, req)
		id := stream[0].GetAccepted().QueryId
		asked, _ := n.providers[0].stats()
		writes := w.of()
		create := slices.IndexFunc(writes, func(lw loggedWrite) bool { return lw.kind() == "create" })
		last := writes[len(writes)-1]
		if create < 0 || last.kind() != "update" {
			t.Fatalf("logged writes %d, want a creation first and the result's rewrite last", len(writes))
		}

		t.Run("creation", func(t *testing.T) {
			if _, err := n.restartFrom(t, ring, writes[create].before, "").GetQuery(ctx, id); err == nil {
				t.Fatal("control: the query is known without its creation")
			}
			r2 := n.restartFrom(t, ring, writes[create].before, writes[create].log)
			rec, err := r2.GetQuery(ctx, id)
			must(t, err)
			if rec.State != riskmeshv1.QueryState_QUERY_STATE_INTERRUPTED {
				t.Fatalf("query %s after the restart, want INTERRUPTED", rec.State)
			}
			again := query(t, r2, req)
			if got := again[0].GetAccepted().GetQueryId(); got != id {
				t.Fatalf("retry accepted as %q, want the replay of %q", got, id)
			}
			if n, _ := n.providers[0].stats(); n != asked {
				t.Fatalf("the provider was asked %d times, want %d: the retry ran again", n, asked)
			}
		})

		t.Run("result", func(t *testing.T) {
			if rec, err := n.restartFrom(t, ring, last.before, "").GetQuery(ctx, id); err != nil ||
				rec.State != riskmeshv1.QueryState_QUERY_STATE_INTERRUPTED {
				t.Fatalf("control: without the last rewrite the query is %v (%v), want INTERRUPTED", rec.GetState(), err)
			}
			r2 := n.restartFrom(t, ring, last.before, last.log)
			rec, err := r2.GetQuery(ctx, id)
			must(t, err)
			told := stream[len(stream)-1].GetResult()
			if rec.State != riskmeshv1.QueryState_QUERY_STATE_COMPLETE || !proto.Equal(rec.Result, told) ||
				!proto.Equal(rec.ProviderResults[0], stream[1].GetProviderResult()) {
				t.Fatalf("query after the restart %v with %v, want COMPLETE with the stream's part and result %v", rec.State, rec.Result, told)
			}
			spend, err := r2.store.spend()
			must(t, err)
			if spend[rec.Period] != told.Amount || told.Amount == 0 {
				t.Fatalf("spend %v after the restart, want the stream's %d in period %d", spend, told.Amount, rec.Period)
			}
			if keys := storedTranscriptKeys(t, r2); len(keys) != 1 {
				t.Fatalf("%d transcripts after the restart, want the exchange's", len(keys))
			}
		})
	})
}

// With sealing on, no log record holds a query record or transcript in
// plain (the log is a file of node.db like any other: docs/operations.md,
// "Sealing node.db"); without it, the records hold both, which is what
// the check looks for.
func TestLogRecordsHoldNoSealedValueInPlain(t *testing.T) {
	sealings(t, func(t *testing.T, ring *seal.Keyring) {
		n := newNetwork(t, 1_000_000, span(0, 10))
		r, w := n.watchedRequester(t, "", ring)
		ready(t, r)
		id := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(3, 50)})[0].GetAccepted().QueryId
		rec, err := r.GetQuery(context.Background(), id)
		must(t, err)
		plainRec, err := proto.Marshal(rec)
		must(t, err)
		_, file := onlyTranscript(t, r)
		var inRec, inFile bool
		for _, lw := range w.of() {
			inRec = inRec || bytes.Contains(lw.rec, plainRec[len(plainRec)/2:])
			inFile = inFile || bytes.Contains(lw.rec, file[len(file)/2:])
		}
		if plain := ring == nil; inRec != plain || inFile != plain {
			t.Fatalf("query record in a log record: %v, transcript: %v; want %v with sealing off, false with it on", inRec, inFile, plain)
		}
	})
}

// A write whose record would exceed the log's bound is not logged but
// committed into node.db before it returns, as before the log: it is
// stored all the same, and the log does not grow to hold it.
func TestOversizedWriteIsNotLogged(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "node.db"), 0o600, nil)
	must(t, err)
	t.Cleanup(func() { db.Close() })
	s, err := openStore(db, nil, time.Now, nil, nil)
	must(t, err)
	defer s.commits.Close()
	big := strings.Repeat("x", groupcommit.MaxRecord/2)
	rec := &riskmeshv1.QueryRecord{QueryId: "q1", CreatedAt: timestamppb.Now(),
		ProviderResults: []*riskmeshv1.ProviderResult{{Provider: "P1MSP", Error: &riskmeshv1.PeerError{Message: big}}}}
	pending := &riskmeshv1.QueryResult{QueryId: "q1", Providers: []*riskmeshv1.ProviderResult{{Provider: "P1MSP", Error: &riskmeshv1.PeerError{Message: big + "y"}}}}
	earlier, err := s.create(rec, pending)
	if err != nil || earlier != "" {
		t.Fatalf("create of %d MiB: %q, %v", 2*len(big)>>20, earlier, err)
	}
	got, err := s.get("q1")
	must(t, err)
	if !proto.Equal(got, rec) {
		t.Fatal("the oversized record read back differs")
	}
	info, err := os.Stat(db.Path() + "." + logName + ".log")
	must(t, err)
	if info.Size() >= int64(len(big)) {
		t.Fatalf("log of %d bytes: it holds the oversized record", info.Size())
	}
}
