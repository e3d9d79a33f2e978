package provider

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/node/peer"
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

// snapshot copies the fixture's node.db as it is now, as a crash would
// leave it before a logged write is folded, and returns the copy's path.
func (f *fixture) snapshot() string {
	f.t.Helper()
	path := filepath.Join(f.t.TempDir(), "node.db")
	must(f.t, f.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(path, 0o600) }))
	return path
}

// replayOn opens a provider on the node.db at path, configured as the
// fixture's, replays the encoded records on it as the journal's Open does
// for records a crash left unfolded, and returns it.
func (f *fixture) replayOn(path string, recs ...[]byte) *Provider {
	f.t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	must(f.t, err)
	f.t.Cleanup(func() { db.Close() })
	cfg := f.p.cfg
	cfg.DB = db
	p, err := New(cfg)
	must(f.t, err)
	must(f.t, db.Update(func(tx *bolt.Tx) error {
		for _, rec := range recs {
			if err := p.replayJournal(tx, rec); err != nil {
				return err
			}
		}
		return nil
	}))
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

// encode is the record's bytes as logWrite logs them.
func encode(t testing.TB, rec *riskmeshv1.ProviderLogRecord) []byte {
	t.Helper()
	enc, err := proto.Marshal(rec)
	must(t, err)
	return enc
}

func answerOp(a *riskmeshv1.ProviderAnswerRecord) *riskmeshv1.ProviderLogRecord {
	return &riskmeshv1.ProviderLogRecord{Op: &riskmeshv1.ProviderLogRecord_Answer{Answer: a}}
}

// Every logged write, replayed on node.db as it was before the write (the
// crash point "record durable, not folded"), leaves node.db exactly as
// the write did, bucket by bucket: an answer stored, an identical answer
// kept, a replayed sequence number, a live step claimed, claimed again by
// its query, refused to another query, and answered; sealing off and on.
func TestJournalReplayEqualsWrite(t *testing.T) {
	atRest(t, func(t *testing.T, tweak func(*Config)) {
		type write struct {
			name string
			// prepare brings node.db to the state before the write.
			prepare func(f *fixture)
			// do makes the write through the provider's code and returns
			// its record.
			do func(f *fixture) *riskmeshv1.ProviderLogRecord
		}
		answer := func(f *fixture, q *query) *riskmeshv1.ProviderLogRecord {
			key, digest, file, e, _ := f.answerInputs(q)
			a, err := f.p.answerRecord(key, digest, file, e)
			must(t, err)
			_, err = f.p.logAnswer(a)
			if err != nil && !errors.Is(err, errReplayed) {
				t.Fatal(err)
			}
			return answerOp(a)
		}
		liveKey := exchangeKey(&transcript.Header{Period: 1, Sequence: 7, Requester: requesterMSP})
		claim := func(f *fixture, step *audit.LiveStep) *riskmeshv1.ProviderLogRecord {
			_, err := f.p.claimLive(liveKey, step)
			if err != nil && !errors.Is(err, errLiveTaken) {
				t.Fatal(err)
			}
			r, err := liveRecord(liveKey, step)
			must(t, err)
			return &riskmeshv1.ProviderLogRecord{Op: &riskmeshv1.ProviderLogRecord_LiveClaim{LiveClaim: r}}
		}
		var q1 *query
		writes := []write{{
			name: "answer stored",
			do:   func(f *fixture) *riskmeshv1.ProviderLogRecord { return answer(f, q1) },
		}, {
			name:    "identical answer kept",
			prepare: func(f *fixture) { answer(f, q1) },
			do:      func(f *fixture) *riskmeshv1.ProviderLogRecord { return answer(f, q1) },
		}, {
			name:    "sequence number replayed",
			prepare: func(f *fixture) { answer(f, q1) },
			do: func(f *fixture) *riskmeshv1.ProviderLogRecord {
				return answer(f, f.newQuery(1, q1.header.Sequence, phone, phone))
			},
		}, {
			name: "live step claimed",
			do:   func(f *fixture) *riskmeshv1.ProviderLogRecord { return claim(f, liveStepOf(1, false)) },
		}, {
			name:    "live step claimed again",
			prepare: func(f *fixture) { claim(f, liveStepOf(1, false)) },
			do:      func(f *fixture) *riskmeshv1.ProviderLogRecord { return claim(f, liveStepOf(1, false)) },
		}, {
			name:    "live step taken",
			prepare: func(f *fixture) { claim(f, liveStepOf(1, false)) },
			do:      func(f *fixture) *riskmeshv1.ProviderLogRecord { return claim(f, liveStepOf(2, false)) },
		}, {
			name:    "live step answered",
			prepare: func(f *fixture) { claim(f, liveStepOf(1, false)) },
			do: func(f *fixture) *riskmeshv1.ProviderLogRecord {
				step := liveStepOf(1, true)
				must(t, f.p.putLive(liveKey, step))
				r, err := liveRecord(liveKey, step)
				must(t, err)
				return &riskmeshv1.ProviderLogRecord{Op: &riskmeshv1.ProviderLogRecord_LiveAnswer{LiveAnswer: r}}
			},
		}}
		for _, w := range writes {
			t.Run(w.name, func(t *testing.T) {
				f := newFixture(t, tweak)
				q1 = f.newQuery(1, 0, phone)
				if w.prepare != nil {
					w.prepare(f)
				}
				before := f.snapshot()
				rec := w.do(f)
				replayed := f.replayOn(before, encode(t, rec))
				sameContents(t, contents(t, f.db), contents(t, replayed.cfg.DB))
			})
		}
	})
}

// After a crash that kept an answer's record and lost its fold, the
// restarted provider holds the answer the requester was told: Transcript
// returns it, the request's retry gets it again unbilled, and its bill is
// pending once.
func TestJournalReplayedAnswerIsTheOneSent(t *testing.T) {
	atRest(t, func(t *testing.T, tweak func(*Config)) {
		f := newFixture(t, tweak)
		q := f.newQuery(1, 0, phone, phone)
		before := f.snapshot()
		key, digest, file, e, sent := f.answerInputs(q)
		a, err := f.p.answerRecord(key, digest, file, e)
		must(t, err)
		if won, err := f.p.logAnswer(a); err != nil || won != nil {
			t.Fatalf("logAnswer: %v, %v", won, err)
		}

		p := f.replayOn(before, encode(t, answerOp(a)))
		got, err := p.Transcript(1, q.header.Sequence, requesterMSP)
		if err != nil || got == nil {
			t.Fatalf("replayed transcript: %v, %v", got, err)
		}
		gotFile, err := got.MarshalBinary()
		must(t, err)
		if !bytes.Equal(gotFile, file) {
			t.Fatal("the replayed transcript is not the one answered")
		}
		retry := p.Handle(f.ctx, peer.Identity{MSPID: requesterMSP}, q.req).GetEvaluate()
		if retry == nil || !bytes.Equal(retry.GetResponderSignature(), sent.ResponseSignature) ||
			!bytes.Equal(retry.GetEvaluated(), join(sent.Response.Evaluated)) || !bytes.Equal(retry.GetProof(), sent.Response.Proof) {
			t.Fatal("the retry after the replay did not get the answer sent")
		}
		if d := p.OutboxDepth(); d != 1 {
			t.Fatalf("outbox depth %d after the replay and a retry, want 1", d)
		}
	})
}

// With sealing on, an answer's record holds its transcript sealed only:
// neither the transcript file nor any blinded or evaluated element is in
// the record's bytes.
func TestJournalRecordHoldsNoPlainTranscript(t *testing.T) {
	f := newFixture(t, sealed(t))
	q := f.newQuery(1, 0, phone, phone, "+8613800138001")
	key, digest, file, e, sent := f.answerInputs(q)
	a, err := f.p.answerRecord(key, digest, file, e)
	must(t, err)
	enc := encode(t, answerOp(a))
	secrets := append(append([][]byte{file}, sent.Request.Elements...), sent.Response.Evaluated...)
	for i, s := range secrets {
		if bytes.Contains(enc, s) {
			t.Fatalf("the record holds secret %d of the transcript in plain", i)
		}
	}
	if _, err := f.p.logAnswer(a); err != nil {
		t.Fatal(err)
	}
	if got, err := f.p.Transcript(1, q.header.Sequence, requesterMSP); err != nil || got == nil {
		t.Fatalf("the sealed transcript the record carried does not open: %v, %v", got, err)
	}
}

// A record larger than any write logs is refused before it is parsed.
func TestJournalRecordBounded(t *testing.T) {
	f := newFixture(t, nil)
	huge := make([]byte, maxJournalRecord+1)
	err := f.db.Update(func(tx *bolt.Tx) error { return f.p.replayJournal(tx, huge) })
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
	a, err := fx.p.answerRecord(key, digest, file, e)
	must(f, err)
	live, err := liveRecord(key, liveStepOf(1, true))
	must(f, err)
	f.Add(encode(f, answerOp(a)))
	f.Add(encode(f, &riskmeshv1.ProviderLogRecord{Op: &riskmeshv1.ProviderLogRecord_LiveClaim{LiveClaim: live}}))
	f.Add(encode(f, &riskmeshv1.ProviderLogRecord{Op: &riskmeshv1.ProviderLogRecord_LiveAnswer{LiveAnswer: live}}))
	f.Add([]byte{})
	rollback := errors.New("rolled back")
	f.Fuzz(func(t *testing.T, rec []byte) {
		err := fx.db.Update(func(tx *bolt.Tx) error {
			if err := fx.p.replayJournal(tx, rec); err != nil {
				return err
			}
			return rollback
		})
		if err == nil {
			t.Fatal("the replay's transaction was committed")
		}
	})
}
