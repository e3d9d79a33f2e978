package provider

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/internal/largevalue"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// answerInputs evaluates q's request as evaluate does and returns what
// evaluate hands commit: the exchange key, the request digest, the signed
// transcript's file and its accounting entry, with the transcript.
func (f *fixture) answerInputs(q *query) (key []byte, digest [transcript.DigestSize]byte, file []byte, e accounting.Entry, t *transcript.Transcript) {
	f.t.Helper()
	h, ev := q.header, q.req.GetEvaluate()
	request := transcript.Request{Elements: split(ev.GetBlinded())}
	reqHash, err := transcript.HashRequest(h, &request)
	must(f.t, err)
	digest, err = transcript.RequestDigest(h, reqHash)
	must(f.t, err)
	eval, err := f.p.evaluator(h.Category, h.Period, f.key)
	must(f.t, err)
	eval, err = eval.WithRule(h.ProofRule)
	must(f.t, err)
	evaluated, proof, err := eval.BlindEvaluate(rand.Reader, ev.GetBlinded())
	must(f.t, err)
	t = &transcript.Transcript{
		Header: *h, Request: request, RequestSignature: ev.GetRequesterSignature(),
		Response: transcript.Response{Evaluated: split(evaluated), Proof: proof[:]},
	}
	respHash, err := transcript.HashResponse(h, &t.Response)
	must(f.t, err)
	t.ResponseSignature, err = transcript.SignResponse(f.p.cfg.Sign, transcript.ResponseDigest(digest, respHash))
	must(f.t, err)
	file, err = t.MarshalBinary()
	must(f.t, err)
	e = accounting.Entry{
		Header: ev.GetHeader(), RequestHash: reqHash[:], ResponseHash: respHash[:],
		RequesterSignature: t.RequestSignature, ResponderSignature: t.ResponseSignature, Amount: int64(h.Count) * price,
	}
	return exchangeKey(h), digest, file, e, t
}

// snapshot waits for the journal's fold and copies the fixture's node.db
// as it is then into a directory of its own, whose path it returns.
func (f *fixture) snapshot() string {
	f.t.Helper()
	dir := f.t.TempDir()
	must(f.t, f.p.Settle())
	must(f.t, f.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(filepath.Join(dir, "node.db"), 0o600) }))
	return dir
}

// crashAfter puts the fixture's journal log, as it is now, beside the
// node.db snapshot took in dir: the files a crash leaves when the writes
// since the snapshot are durable in the log and not folded into node.db.
// It returns the node.db's path.
func (f *fixture) crashAfter(dir string) string {
	f.t.Helper()
	path := filepath.Join(dir, "node.db")
	log, err := os.ReadFile(f.db.Path() + "." + journalLogName + ".log")
	must(f.t, err)
	must(f.t, os.WriteFile(path+"."+journalLogName+".log", log, 0o600))
	return path
}

// restartOn starts a provider, configured as the fixture's, on the
// node.db at path, as the node does after a crash: New opens the journal,
// which replays the records not folded.
func (f *fixture) restartOn(path string) *Provider {
	f.t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	must(f.t, err)
	f.t.Cleanup(func() { db.Close() })
	cfg := f.p.cfg
	cfg.DB = db
	p, err := New(cfg)
	must(f.t, err)
	f.t.Cleanup(func() { p.Close() })
	return p
}

// contents is every key and value of db, nested buckets included, by
// path.
func contents(t testing.TB, db *bolt.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(prefix string, b *bolt.Bucket) error
	walk = func(prefix string, b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return walk(fmt.Sprintf("%s/%x", prefix, k), b.Bucket(k))
			}
			out[fmt.Sprintf("%s/%x", prefix, k)] = string(v)
			return nil
		})
	}
	must(t, db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(string(name), b) })
	}))
	return out
}

// sameContents fails t unless want and got hold the same keys and values,
// naming the first paths that differ.
func sameContents(t testing.TB, want, got map[string]string) {
	t.Helper()
	var diff []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if v, ok := got[k]; !ok || v != want[k] {
			diff = append(diff, "written, not replayed: "+k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			diff = append(diff, "replayed, not written: "+k)
		}
	}
	if len(diff) > 0 {
		t.Fatalf("replay differs from the write in %d places: %q", len(diff), diff[:min(len(diff), 5)])
	}
}

// liveStepOf is a live step of a query with the given digest, answered
// or not; its values need only be well formed for the store.
func liveStepOf(query byte, answered bool) *audit.LiveStep {
	s := &audit.LiveStep{RequesterSignature: []byte{0x30, 1, query}}
	s.Params[0], s.Query[0] = 1, query
	if answered {
		s.Answer[0], s.ResponderSignature = 2, []byte{0x30, 2, query}
	}
	return s
}

// encode is the record's bytes as the provider logs them (groupcommit.LogMessage).
func encode(t testing.TB, rec *riskmeshv1.ProviderLogRecord) []byte {
	t.Helper()
	enc, err := proto.Marshal(rec)
	must(t, err)
	return enc
}

func answerOp(a *riskmeshv1.ProviderAnswerRecord) *riskmeshv1.ProviderLogRecord {
	return &riskmeshv1.ProviderLogRecord{Op: &riskmeshv1.ProviderLogRecord_Answer{Answer: a}}
}

// Every logged write, replayed after a crash that kept its record and
// lost its fold (node.db as it was before the write, the log as it is
// after), leaves node.db exactly as the write did, bucket by bucket, the
// log's own mark of what is folded included: an answer stored, an
// identical answer kept (a concurrent copy of the request), a replayed
// sequence number, a live step claimed, claimed again by its query,
// refused to another query, and answered; sealing off and on.
func TestJournalReplayEqualsWrite(t *testing.T) {
	atRest(t, func(t *testing.T, tweak func(*Config)) {
		// commit journals q's answer as evaluate does after its replay
		// lookup, which a concurrent copy of the request passes too.
		commit := func(f *fixture, q *query) {
			key, digest, file, e, _ := f.answerInputs(q)
			if _, err := f.p.commit(key, digest, file, e, nil); err != nil && !errors.Is(err, errReplayed) {
				t.Fatal(err)
			}
		}
		liveKey := exchangeKey(&transcript.Header{Period: 1, Sequence: 7, Requester: requesterMSP})
		claim := func(f *fixture, query byte) {
			if _, err := f.p.claimLive(liveKey, liveStepOf(query, false)); err != nil && !errors.Is(err, errLiveTaken) {
				t.Fatal(err)
			}
		}
		var q1 *query
		writes := []struct {
			name string
			// prepare brings node.db to the state before the write.
			prepare func(f *fixture)
			// write makes the write through the provider's code.
			write func(f *fixture)
		}{
			{"answer stored", nil, func(f *fixture) {
				if f.handle(q1.req).GetEvaluate() == nil {
					t.Fatal("evaluate refused")
				}
			}},
			{"identical answer kept", func(f *fixture) { commit(f, q1) }, func(f *fixture) { commit(f, q1) }},
			{"sequence number replayed", func(f *fixture) { commit(f, q1) }, func(f *fixture) {
				commit(f, f.newQuery(1, q1.header.Sequence, phone, phone))
			}},
			{"live step claimed", nil, func(f *fixture) { claim(f, 1) }},
			{"live step claimed again", func(f *fixture) { claim(f, 1) }, func(f *fixture) { claim(f, 1) }},
			{"live step taken", func(f *fixture) { claim(f, 1) }, func(f *fixture) { claim(f, 2) }},
			{"live step answered", func(f *fixture) { claim(f, 1) }, func(f *fixture) {
				must(t, f.p.putLive(liveKey, liveStepOf(1, true)))
			}},
		}
		for _, w := range writes {
			t.Run(w.name, func(t *testing.T) {
				f := newFixture(t, tweak)
				q1 = f.newQuery(1, 0, phone)
				if w.prepare != nil {
					w.prepare(f)
				}
				before := f.snapshot()
				was := contents(t, f.db)
				w.write(f)
				must(t, f.p.Settle())
				want := contents(t, f.db)
				if maps.Equal(was, want) {
					t.Fatal("the write changed nothing, not even the log's mark: a replay that did nothing would pass")
				}
				p := f.restartOn(f.crashAfter(before))
				sameContents(t, want, contents(t, p.cfg.DB))
			})
		}
	})
}

// After a crash that kept an answer's record and lost its fold, the
// restarted provider holds the answer the requester was told over QUIC:
// Transcript returns it, the request's retry gets it again unbilled, and
// its bill is pending once.
func TestJournalReplayedAnswerIsTheOneSent(t *testing.T) {
	atRest(t, func(t *testing.T, tweak func(*Config)) {
		f := newFixture(t, tweak)
		q := f.newQuery(1, 0, phone, phone)
		before := f.snapshot()
		sent := f.serveQUIC(t, f.p)(q.req).GetEvaluate()
		if sent == nil {
			t.Fatal("evaluate refused")
		}
		p := f.restartOn(f.crashAfter(before))
		got, err := p.Transcript(1, q.header.Sequence, requesterMSP)
		if err != nil || got == nil {
			t.Fatalf("replayed transcript: %v, %v", got, err)
		}
		same := func(e *riskmeshv1.EvaluateResponse) bool {
			return bytes.Equal(e.GetEvaluated(), sent.GetEvaluated()) && bytes.Equal(e.GetProof(), sent.GetProof()) &&
				bytes.Equal(e.GetResponderSignature(), sent.GetResponderSignature())
		}
		if !same(answer(got).GetEvaluate()) {
			t.Fatal("the replayed transcript is not the answer sent")
		}
		if retry := f.serveQUIC(t, p)(q.req).GetEvaluate(); retry == nil || !same(retry) {
			t.Fatal("the retry after the replay did not get the answer sent")
		}
		if d := p.OutboxDepth(); d != 1 {
			t.Fatalf("outbox depth %d after the replay and a retry, want 1", d)
		}
	})
}

// With sealing on, the journal log holds an answer's transcript sealed
// only, as node.db does: the sealed value is in the log, and neither the
// transcript file nor any blinded or evaluated element is.
func TestJournalLogHoldsNoPlainTranscript(t *testing.T) {
	f := newFixture(t, sealed(t))
	q := f.newQuery(1, 0, phone, phone, "+8613800138001")
	if f.handle(q.req).GetEvaluate() == nil {
		t.Fatal("evaluate refused")
	}
	must(t, f.p.Settle())
	log, err := os.ReadFile(f.db.Path() + "." + journalLogName + ".log")
	must(t, err)
	var stored []byte
	must(t, f.db.View(func(tx *bolt.Tx) error {
		stored = bytes.Clone(largevalue.Get(tx.Bucket(bucketTranscripts), exchangeKey(q.header)))
		return nil
	}))
	if len(stored) == 0 || !bytes.Contains(log, stored) {
		t.Fatal("the log does not hold the answer's sealed transcript: the search below would prove nothing")
	}
	tr, err := f.p.Transcript(1, q.header.Sequence, requesterMSP)
	must(t, err)
	file, err := tr.MarshalBinary()
	must(t, err)
	secrets := append(append([][]byte{file}, tr.Request.Elements...), tr.Response.Evaluated...)
	for i, s := range secrets {
		if bytes.Contains(log, s) {
			t.Fatalf("the log holds part %d of the transcript in plain", i)
		}
	}
}

// A record larger than any write logs is refused before it is parsed.
func TestJournalRecordBounded(t *testing.T) {
	f := newFixture(t, nil)
	huge := make([]byte, maxJournalRecord+1)
	err := f.db.Update(func(tx *bolt.Tx) error { return replayJournal(tx, huge) })
	if !errors.Is(err, errJournalRecord) {
		t.Fatalf("replaying a record of %d bytes: %v, want errJournalRecord", len(huge), err)
	}
}

// FuzzReplayJournal replays arbitrary log records on a real node.db, in a
// transaction rolled back after each: a damaged log must give an error,
// never a panic or an allocation beyond the record's size.
func FuzzReplayJournal(f *testing.F) {
	fx := newFixture(f, nil)
	key, digest, file, e, _ := fx.answerInputs(fx.newQuery(1, 0, phone))
	a := &riskmeshv1.ProviderAnswerRecord{ExchangeKey: key, RequestDigest: digest[:], Transcript: file, Entry: entryRecord(&e)}
	live, err := liveRecord(key, liveStepOf(1, true))
	must(f, err)
	f.Add(encode(f, answerOp(a)))
	f.Add(encode(f, &riskmeshv1.ProviderLogRecord{Op: &riskmeshv1.ProviderLogRecord_LiveClaim{LiveClaim: live}}))
	f.Add(encode(f, &riskmeshv1.ProviderLogRecord{Op: &riskmeshv1.ProviderLogRecord_LiveAnswer{LiveAnswer: live}}))
	f.Add([]byte{})
	rollback := errors.New("rolled back")
	f.Fuzz(func(t *testing.T, rec []byte) {
		err := fx.db.Update(func(tx *bolt.Tx) error {
			if err := replayJournal(tx, rec); err != nil {
				return err
			}
			return rollback
		})
		if err == nil {
			t.Fatal("the replay's transaction was committed")
		}
	})
}
