package requester

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// FuzzPageToken: a page token from a caller never panics the decoder, and
// every token the node issues decodes back to its key.
func FuzzPageToken(f *testing.F) {
	f.Add(encodePageToken(timeKey(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), "kJNR-rMPS5k3FC13ubBSSg")))
	f.Add("")
	f.Add("AAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		k, err := decodePageToken(tok)
		if err != nil {
			return
		}
		if len(k) <= timeKeyLen || !validQueryID(string(k[timeKeyLen:])) {
			t.Fatalf("accepted key %x", k)
		}
		back, err := decodePageToken(encodePageToken(k))
		if err != nil || !bytes.Equal(back, k) {
			t.Fatalf("re-encoded token decodes to %x, %v", back, err)
		}
	})
}

// FuzzVerifyAnswer: whatever a provider answers to a request, verifying it
// never panics; it is ANSWERED only with the honest evaluation and proof
// under the registered key, and DISPUTED otherwise.
func FuzzVerifyAnswer(f *testing.F) {
	x, req, query, honest := answerFixture(f)
	f.Add(honest.Evaluated, honest.Proof, honest.ResponderSignature)
	f.Add(honest.Evaluated[:32], honest.Proof, honest.ResponderSignature)
	f.Add(honest.Evaluated, honest.Proof[:10], []byte{})
	f.Fuzz(func(t *testing.T, evaluated, proof, sig []byte) {
		o := verifyCatalogAnswer(x, req, query(t), &riskmeshv1.EvaluateResponse{Evaluated: evaluated, Proof: proof, ResponderSignature: sig}, noRecheck)
		switch o.status {
		case riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED:
			if !bytes.Equal(evaluated, honest.Evaluated) || len(o.results) != len(x.ids) || len(o.transcripts) == 0 {
				t.Fatalf("answer accepted with other elements")
			}
		case riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED:
			if o.err == nil || len(o.results) != 0 {
				t.Fatalf("disputed outcome %+v", o)
			}
		default:
			t.Fatalf("status %v", o.status)
		}
	})
}

// answerFixture is an in-process exchange of 4 identifiers (2 listed) with
// its honest answer. A query state is resolved once, so query returns a
// fresh one for the same request (the same blinds) on every call.
func answerFixture(t testing.TB) (*exchange, *signedRequest, func(testing.TB) *catalogpsi.Query, *riskmeshv1.EvaluateResponse) {
	t.Helper()
	key, err := oprf.GenerateKey(nil)
	must(t, err)
	provSig, provPub, err := ecsig.GenerateKey(rand.Reader)
	must(t, err)
	reqSig, _, err := ecsig.GenerateKey(rand.Reader)
	must(t, err)
	ids := make([]ident.ID, 4)
	var listed []catalogpsi.Entry
	for i := range ids {
		ids[i] = ident.ID{Type: ident.Phone, Value: phone(i)}
		if i%2 == 0 {
			listed = append(listed, catalogpsi.Entry{ID: ids[i], Label: labelOfListed(1, i)})
		}
	}
	prov := catalogpsi.NewProvider("P1MSP", key)
	cat, err := prov.BuildCatalog(context.Background(), nil, testCategory, 1, slices.Values(listed), len(listed), nil)
	must(t, err)
	psi, err := catalogpsi.NewRequester("P1MSP", key.Public(), testCategory, 1, cat)
	must(t, err)
	x := &exchange{inst: accounting.Institution{MSPID: "P1MSP", SigningKey: provPub}, category: testCategory,
		period: 1, psi: psi, keyID: key.Public().KeyID(), ids: ids}
	blinds := make([]byte, len(ids)*64) // 64 random bytes per blind
	_, err = rand.Read(blinds)
	must(t, err)
	_, blinded, err := psi.Blind(bytes.NewReader(blinds), ids)
	must(t, err)
	query := func(t testing.TB) *catalogpsi.Query {
		t.Helper()
		q, _, err := psi.Blind(bytes.NewReader(blinds), ids)
		must(t, err)
		return q
	}
	req, err := signRequest(transcript.Header{
		Protocol: transcript.ProtocolCatalogOPRF, Suite: catalogpsi.Suite, Category: testCategory, Period: 1,
		Requester: requesterMSP, Responder: "P1MSP", Sequence: 1, Count: 4, KeyID: x.keyID,
	}, blinded, ecsig.NewSigner(reqSig, rand.Reader))
	must(t, err)
	ev, err := prov.Evaluator(testCategory, 1)
	must(t, err)
	evaluated, proof, err := ev.BlindEvaluate(nil, blinded)
	must(t, err)
	respHash, err := transcript.HashResponse(&req.header, &transcript.Response{Evaluated: splitElements(evaluated), Proof: proof[:]})
	must(t, err)
	sig, err := transcript.SignResponse(ecsig.NewSigner(provSig, rand.Reader), transcript.ResponseDigest(req.requestDigest, respHash))
	must(t, err)
	return x, req, query, &riskmeshv1.EvaluateResponse{Evaluated: evaluated, Proof: proof[:], ResponderSignature: sig}
}

// noRecheck is a registry recheck that finds no keys.
func noRecheck() [][]byte { return nil }

func TestVerifyAnswer(t *testing.T) {
	x, req, query, honest := answerFixture(t)
	o := verifyCatalogAnswer(x, req, query(t), honest, noRecheck)
	if o.status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || len(o.transcripts) == 0 {
		t.Fatalf("honest answer: %+v", o)
	}
	// A responder key the view does not hold yet (rotated since its last
	// refresh) is accepted when the rechecked view has it, and only then.
	stale := *x
	stale.inst.SigningKey = nil
	keys := x.inst.SigningKeysIn(x.period)
	if o := verifyCatalogAnswer(&stale, req, query(t), honest, func() [][]byte { return keys }); o.status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
		t.Fatalf("answer under a key only the rechecked view has: %v", o.status)
	}
	if o := verifyCatalogAnswer(&stale, req, query(t), honest, noRecheck); o.status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED {
		t.Fatalf("answer under a key no view has: %v", o.status)
	}
	for i, r := range o.results {
		if want := i%2 == 0; r.Hit != want || (want && r.Label != labelOfListed(1, i)) {
			t.Errorf("identifier %d: %+v", i, r)
		}
	}
	flip := func(b []byte, i int) []byte { b = slices.Clone(b); b[i] ^= 1; return b }
	tests := []struct {
		name           string
		ans            *riskmeshv1.EvaluateResponse
		keepTranscript bool
	}{
		{"no answer", nil, false},
		{"short elements", &riskmeshv1.EvaluateResponse{Evaluated: honest.Evaluated[:64], Proof: honest.Proof, ResponderSignature: honest.ResponderSignature}, false},
		{"short proof", &riskmeshv1.EvaluateResponse{Evaluated: honest.Evaluated, Proof: honest.Proof[:63], ResponderSignature: honest.ResponderSignature}, false},
		{"no signature", &riskmeshv1.EvaluateResponse{Evaluated: honest.Evaluated, Proof: honest.Proof}, false},
		{"bad signature", &riskmeshv1.EvaluateResponse{Evaluated: honest.Evaluated, Proof: honest.Proof, ResponderSignature: flip(honest.ResponderSignature, 10)}, true},
		{"element changed", &riskmeshv1.EvaluateResponse{Evaluated: flip(honest.Evaluated, 0), Proof: honest.Proof, ResponderSignature: honest.ResponderSignature}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := verifyCatalogAnswer(x, req, query(t), tt.ans, noRecheck)
			if o.status != riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED || (len(o.transcripts) == 1) != tt.keepTranscript {
				t.Fatalf("outcome %v (transcript kept: %v)", o.status, len(o.transcripts) == 1)
			}
		})
	}
}

// FuzzLogReplay: whatever the requester's log holds (a damaged or foreign
// file), replaying a record never panics, and a record it applies is one
// of the writes it logs, which applies again from its canonical encoding.
func FuzzLogReplay(f *testing.F) {
	rec, _ := proto.Marshal(&riskmeshv1.QueryRecord{QueryId: "q1", Period: 3,
		ProviderResults: []*riskmeshv1.ProviderResult{{Provider: "P1MSP", Amount: 2}}, Result: &riskmeshv1.QueryResult{QueryId: "q1"}})
	for _, r := range []*riskmeshv1.RequesterLogRecord{
		{Op: &riskmeshv1.RequesterLogRecord_Create{Create: &riskmeshv1.RequesterLogCreate{QueryId: "q1", ClientRequestId: "c-1",
			CreatedUnixNano: 1, Record: rec, Pending: []byte{}}}},
		{Op: &riskmeshv1.RequesterLogRecord_Update{Update: &riskmeshv1.RequesterLogUpdate{QueryId: "q1", Period: 3, Record: rec,
			Added: []uint32{0}, Done: true, Spend: 2, RecordedUnixNano: 1,
			Transcripts: []*riskmeshv1.RequesterLogValue{{Key: transcriptKey(3, "P1MSP", 1), Value: []byte("t")}}}}},
		{Op: &riskmeshv1.RequesterLogRecord_Update{Update: &riskmeshv1.RequesterLogUpdate{QueryId: "q1", Record: rec, Added: []uint32{7}}}},
		{Op: &riskmeshv1.RequesterLogRecord_Reserve{Reserve: &riskmeshv1.RequesterLogReserve{Period: 3, Responder: "P1MSP"}}},
		{},
	} {
		b, _ := proto.Marshal(r)
		f.Add(b)
	}
	db, err := bolt.Open(filepath.Join(f.TempDir(), "node.db"), 0o600, nil)
	must(f, err)
	f.Cleanup(func() { db.Close() })
	rc := &recorder{}
	s, err := openStore(db, nil, time.Now, rc.record, nil)
	must(f, err)
	errRollback := errors.New("rolled back")
	apply := func(b []byte) error {
		err := db.Update(func(tx *bolt.Tx) error {
			if err := s.replay(tx, b); err != nil {
				return err
			}
			return errRollback
		})
		if errors.Is(err, errRollback) {
			return nil
		}
		return err
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if apply(b) != nil {
			return
		}
		r := new(riskmeshv1.RequesterLogRecord)
		if err := proto.Unmarshal(b, r); err != nil || r.Op == nil {
			t.Fatalf("applied a record that is no logged write: %v", err)
		}
		canonical, err := proto.Marshal(r)
		must(t, err)
		if err := apply(canonical); err != nil {
			t.Fatalf("the canonical encoding of an applied record does not apply: %v", err)
		}
	})
}
