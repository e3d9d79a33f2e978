package requester

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/node/seal/sealtest"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// sealedRequester opens a requester in dir with sealing on under ring.
func (n *network) sealedRequester(dir string, ring *seal.Keyring) *Requester {
	return n.newRequester(dir, func(s *setup) { s.Seal = ring })
}

// storedTranscriptKeys returns the keys of the requester's stored
// transcripts.
func storedTranscriptKeys(t *testing.T, r *Requester) [][]byte {
	t.Helper()
	var keys [][]byte
	must(t, r.store.commits.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTranscripts).ForEach(func(k, _ []byte) error {
			keys = append(keys, bytes.Clone(k))
			return nil
		})
	}))
	return keys
}

// onlyTranscript returns the key and file encoding of r's one stored
// transcript.
func onlyTranscript(t *testing.T, r *Requester) (accounting.EntryKey, []byte) {
	t.Helper()
	keys := storedTranscriptKeys(t, r)
	if len(keys) != 1 {
		t.Fatalf("%d stored transcripts, want 1", len(keys))
	}
	k, _ := parseReconcileKey(keys[0], requesterMSP)
	tr, err := r.store.transcript(k.Period, k.Responder, k.Sequence)
	must(t, err)
	file, err := tr.MarshalBinary()
	must(t, err)
	return k, file
}

// With sealing on, node.db holds no query record or transcript in plain;
// after a restart both are read back.
func TestSealedQueryRecordsAndTranscripts(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	ring := sealtest.Keyring(t)
	dir := t.TempDir()
	r := n.sealedRequester(dir, ring)
	ready(t, r)
	events := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(3, 50)})
	id := events[0].GetAccepted().QueryId
	rec, err := r.GetQuery(context.Background(), id)
	must(t, err)
	if len(rec.GetResult().GetItems()) != 2 || len(rec.GetResult().GetItems()[0].GetHits()) != 1 {
		t.Fatalf("stored result %v, want a hit on the first of two items", rec.GetResult())
	}
	k, file := onlyTranscript(t, r)
	plainRec, err := proto.Marshal(rec)
	must(t, err)
	must(t, r.Close())
	must(t, r.cfg.DB.Close())
	data, err := os.ReadFile(filepath.Join(dir, "node.db"))
	must(t, err)
	if bytes.Contains(data, plainRec[len(plainRec)/2:]) || bytes.Contains(data, file[len(file)/2:]) {
		t.Fatal("node.db holds a query record or a transcript in plain")
	}

	r2 := n.sealedRequester(dir, ring)
	again, err := r2.GetQuery(context.Background(), id)
	must(t, err)
	if !proto.Equal(again, rec) {
		t.Fatalf("after restart %v, want %v", again, rec)
	}
	tr2, err := r2.store.transcript(k.Period, k.Responder, k.Sequence)
	must(t, err)
	if again, _ := tr2.MarshalBinary(); !bytes.Equal(again, file) {
		t.Fatal("the transcript read after a restart differs")
	}
}

// TestAdversarySealedQueryRecordSwapped plays whoever edits node.db of a
// sealing requester: a query record moved under another query's id does
// not open, so GetQuery refuses it instead of reporting another query's
// hits as this one's.
func TestAdversarySealedQueryRecordSwapped(t *testing.T) {
	n := newNetwork(t, 1_000_000, span(0, 10))
	ring := sealtest.Keyring(t)
	r := n.sealedRequester("", ring)
	ready(t, r)
	hit := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(3)})[0].GetAccepted().QueryId
	miss := query(t, r, &riskmeshv1.QueryRequest{Category: testCategory, Identifiers: phones(50)})[0].GetAccepted().QueryId
	must(t, r.cfg.DB.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketQueries)
		a, c := bytes.Clone(b.Get([]byte(hit))), bytes.Clone(b.Get([]byte(miss)))
		if err := b.Put([]byte(hit), c); err != nil {
			return err
		}
		return b.Put([]byte(miss), a)
	}))
	for _, id := range []string{hit, miss} {
		if _, err := r.GetQuery(context.Background(), id); !errors.Is(err, seal.ErrOpen) {
			t.Fatalf("query record moved to another id: %v, want seal.ErrOpen", err)
		}
	}
}

// sealedFeedback is feedbackNetwork with sealing on and P1MSP's hits 0
// and 1 reported confirmed and wrong.
func sealedFeedback(t *testing.T) (*network, *Requester, string) {
	t.Helper()
	ring := sealtest.Keyring(t)
	n, r, id := feedbackNetwork(t, nil, func(s *setup) { s.Seal = ring })
	_, err := r.ReportOutcomes(context.Background(), feedback(id, "P1MSP", 0, confirmed, 1, wrong))
	must(t, err)
	return n, r, id
}

// With sealing on, the business's outcome of each hit is not in node.db in
// plain, and a revision reads the earlier outcomes back: the ledger gets
// the same counts as without sealing.
func TestSealedFeedback(t *testing.T) {
	ctx := context.Background()
	n, r, id := sealedFeedback(t)
	must(t, r.cfg.DB.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFeedbackHits).ForEach(func(k, v []byte) error {
			if len(v) == 1 {
				t.Errorf("outcome under %q stored in plain", k)
			}
			return nil
		})
	}))
	_, err := r.ReportOutcomes(ctx, feedback(id, "P1MSP", 1, confirmed))
	must(t, err)
	if submitted, err := r.submitFeedback(ctx); err != nil || submitted != 1 {
		t.Fatalf("submitted %d (%v), want 1 entry", submitted, err)
	}
	got, err := n.regulator.Scores(ctx, accounting.QualityQuery{Period: n.period, Provider: "P1MSP", Window: 1})
	must(t, err)
	if len(got) != 1 || got[0].Confirmed != 2 || got[0].Wrong != 0 || got[0].Unknown != 1 {
		t.Fatalf("ledger score %+v, want 2 confirmed, 0 wrong, 1 unknown", got)
	}
}

// TestAdversarySealedFeedbackSwapped plays whoever edits node.db of a
// sealing requester: one hit's outcome swapped with another's, or one
// provider's shares with another's, do not open, so the next report is
// refused instead of submitting counts the business never reported.
func TestAdversarySealedFeedbackSwapped(t *testing.T) {
	ctx := context.Background()
	_, r, id := sealedFeedback(t)
	_, err := r.ReportOutcomes(ctx, feedback(id, "P2MSP", 1, confirmed))
	must(t, err)
	swap := func(bucketName, a, b []byte) {
		t.Helper()
		must(t, r.cfg.DB.Update(func(tx *bolt.Tx) error {
			bk := tx.Bucket(bucketName)
			va, vb := bytes.Clone(bk.Get(a)), bytes.Clone(bk.Get(b))
			if va == nil || vb == nil {
				t.Fatalf("nothing stored under %q or %q", a, b)
			}
			if err := bk.Put(a, vb); err != nil {
				return err
			}
			return bk.Put(b, va)
		}))
	}
	p1, p2 := partKey(id, "P1MSP"), partKey(id, "P2MSP")
	swap(bucketFeedbackHits, binary.BigEndian.AppendUint32(bytes.Clone(p1), 0), binary.BigEndian.AppendUint32(bytes.Clone(p1), 1))
	if _, err := r.ReportOutcomes(ctx, feedback(id, "P1MSP", 2, confirmed)); !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("report over swapped outcomes: %v, want seal.ErrOpen", err)
	}
	swap(bucketFeedbackParts, p1, p2)
	if _, err := r.ReportOutcomes(ctx, feedback(id, "P2MSP", 2, wrong)); !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("report over swapped shares: %v, want seal.ErrOpen", err)
	}
}
