package provider

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/hepsi"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// newLiveKeysFixture is a live provider served over QUIC, its live
// parameters for period 1 and a requester key pair under them.
func newLiveKeysFixture(t *testing.T) (*fixture, exchange, hepsi.Params, *hepsi.Requester) {
	t.Helper()
	f, _ := newLiveFixture(t, ServeLive)
	f.maintain()
	via := f.serveQUIC(t, f.p)
	params := f.liveParams(via, 1)
	he, err := hepsi.NewRequester(params)
	must(t, err)
	return f, via, params, he
}

// restart restarts the provider as a process would (its journal flushed,
// a new node on its database, maintained) and serves it over QUIC anew:
// what it kept in memory, the evaluation keys and the live answers, is
// gone.
func (f *fixture) restart(t *testing.T) exchange {
	t.Helper()
	f.flush()
	f.reopen()
	f.maintain()
	return f.serveQUIC(t, f.p)
}

// signedLiveQuery signs q for the exchange whose response digest is
// respDigest.
func (f *fixture) signedLiveQuery(q *hepsi.Query, params hepsi.Params, hdr []byte, respDigest [transcript.DigestSize]byte) (*riskmeshv1.PeerRequest, [transcript.DigestSize]byte) {
	f.t.Helper()
	pd, err := params.Digest()
	must(f.t, err)
	qd := transcript.LiveQueryDigest(respDigest, pd, q.Digest())
	sig, err := transcript.SignRequest(f.reqSign, qd)
	must(f.t, err)
	enc, err := q.MarshalBinary()
	must(f.t, err)
	return &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveQuery{LiveQuery: &riskmeshv1.LiveQuery{
		Header: hdr, Query: enc, RequesterSignature: sig,
	}}}, qd
}

// askListed runs the POPRF step of a live exchange (the next sequence)
// of a listed and an unlisted phone over via, and seals its homomorphic
// query with encrypt (a hepsi.Requester's Query, carrying the key, or
// QueryByKeyDigest).
func (f *fixture) askListed(via exchange, params hepsi.Params, encrypt func(io.Reader, [][]byte) (*hepsi.Query, *hepsi.QueryState, error)) (liveStep1, *hepsi.QueryState, *riskmeshv1.PeerRequest, [transcript.DigestSize]byte) {
	f.t.Helper()
	s1 := f.livePOPRF(via, 1, 0, "+8613800138001", "+8613800138555")
	if s1.refusal != nil {
		f.t.Fatalf("POPRF step refused: %v", s1.refusal)
	}
	q, st, err := encrypt(nil, s1.outputs)
	must(f.t, err)
	req, qd := f.signedLiveQuery(q, params, s1.hdr, s1.respDigest)
	return s1, st, req, qd
}

// wantListed fails unless res finds the listed phone and not the
// unlisted one (askListed).
func wantListed(t *testing.T, res []hepsi.Result) {
	t.Helper()
	if !res[0].Found || res[1].Found {
		t.Fatalf("found %v %v, want listed and unlisted", res[0].Found, res[1].Found)
	}
}

// wantUnknownKey fails unless resp is the unknown-key refusal and the
// exchange of s1 has no live step recorded.
func (f *fixture) wantUnknownKey(resp *riskmeshv1.PeerResponse, s1 liveStep1) {
	f.t.Helper()
	if got := resp.GetError().GetCode(); got != riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_KEY {
		f.t.Fatalf("query naming a key not held here: %v, want UNKNOWN_KEY", resp)
	}
	rec, err := f.p.liveStep(exchangeKey(s1.header))
	must(f.t, err)
	if rec != nil {
		f.t.Fatalf("refused query recorded as the exchange's live step: %+v", rec)
	}
}

// TestLiveKeyByDigest: over QUIC, a requester's second live query names
// its evaluation key by digest and is answered, one evaluation key
// smaller on the wire; after a provider restart the cache is empty, the
// same kind of query is refused UNKNOWN_KEY with nothing recorded, and the
// exchange's query sent again with the key is answered. Only the three
// POPRF steps are billed.
func TestLiveKeyByDigest(t *testing.T) {
	f, via, params, he := newLiveKeysFixture(t)
	keyEnc, err := he.EvaluationKey().MarshalBinary()
	must(t, err)
	_, st, withKey, qd := f.askListed(via, params, he.Query)
	wantListed(t, f.liveResults(via(withKey), params, st, qd))
	_, st, named, qd := f.askListed(via, params, he.QueryByKeyDigest)
	wantListed(t, f.liveResults(via(named), params, st, qd))
	if saved := len(withKey.GetLiveQuery().GetQuery()) - len(named.GetLiveQuery().GetQuery()); saved < len(keyEnc)-64 {
		// The digest and its framing replace the key (1.57 MB).
		t.Fatalf("query naming its key is %d bytes smaller, want the key's %d less at most 64", saved, len(keyEnc))
	}

	via = f.restart(t)
	s1, _, named, _ := f.askListed(via, params, he.QueryByKeyDigest)
	f.wantUnknownKey(via(named), s1)
	q, st, err := he.Query(nil, s1.outputs)
	must(t, err)
	withKey, qd = f.signedLiveQuery(q, params, s1.hdr, s1.respDigest)
	wantListed(t, f.liveResults(via(withKey), params, st, qd))
	f.flush()
	if got := f.billed(t); got != 3*2*livePrice {
		t.Fatalf("billed %d, want three POPRF steps of 2 items at %d", got, livePrice)
	}
}

// TestAdversaryLiveForeignKeyDigest: a requester that names another member's
// evaluation key by digest (held in the provider's cache) is refused
// UNKNOWN_KEY exactly as for a key nobody sent: nothing is recorded,
// nothing evaluated, and the refusal does not tell it whether that member
// queried this provider.
func TestAdversaryLiveForeignKeyDigest(t *testing.T) {
	f, via, params, victim := newLiveKeysFixture(t)
	// The victim's query reaches the cache as its own live query would.
	vq, _, err := victim.Query(nil, [][]byte{make([]byte, 32)})
	must(t, err)
	if _, err := f.p.heKeys.Resolve("VictimMSP", vq); err != nil {
		t.Fatal(err)
	}
	// The attacker's query carries the victim's key digest: it builds a
	// version-2 query of its own and rewrites the digest it names.
	s1 := f.livePOPRF(via, 1, 0, "+8613800138001")
	if s1.refusal != nil {
		t.Fatalf("POPRF step refused: %v", s1.refusal)
	}
	attacker, err := hepsi.NewRequester(params)
	must(t, err)
	aq, _, err := attacker.QueryByKeyDigest(nil, s1.outputs)
	must(t, err)
	enc, err := aq.MarshalBinary()
	must(t, err)
	own, theirs := attacker.EvaluationKey().Digest(), victim.EvaluationKey().Digest()
	forged := replaceOnce(t, enc, own[:], theirs[:])
	fq, err := hepsi.DecodeQuery(params, forged)
	must(t, err)
	if fq.KeyDigest() != theirs {
		t.Fatal("forged query does not name the victim's key")
	}
	req, _ := f.signedLiveQuery(fq, params, s1.hdr, s1.respDigest)
	f.wantUnknownKey(via(req), s1)
}

// replaceOnce returns b with its only occurrence of old replaced by new.
func replaceOnce(t *testing.T, b, old, new []byte) []byte {
	t.Helper()
	out := append([]byte(nil), b...)
	at := -1
	for i := 0; i+len(old) <= len(out); i++ {
		if string(out[i:i+len(old)]) == string(old) {
			if at >= 0 {
				t.Fatal("digest occurs twice in the query")
			}
			at = i
		}
	}
	if at < 0 {
		t.Fatal("digest not in the query")
	}
	copy(out[at:], new)
	return out
}

// uploadKey sends he's evaluation key ahead of queries, for period.
func uploadKey(via exchange, category string, period uint64, key []byte) *riskmeshv1.PeerResponse {
	return via(&riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveKey{LiveKey: &riskmeshv1.LiveKeyUpload{
		Provider: providerMSP, Category: category, Period: period, Key: key,
	}}})
}

// TestLiveKeyUpload: over QUIC, a requester sends its evaluation key ahead
// of its queries; the provider's receipt names the key's digest, and the
// requester's first live query names the key by digest and is answered.
// After a provider restart the key is gone: the same kind of query is
// refused UNKNOWN_KEY with nothing recorded, and answered once the key is
// uploaded again.
func TestLiveKeyUpload(t *testing.T) {
	f, via, params, he := newLiveKeysFixture(t)
	key, err := he.EvaluationKey().MarshalBinary()
	must(t, err)
	stored := uploadKey(via, category, 1, key).GetLiveKeyStored()
	if want := he.EvaluationKey().Digest(); string(stored.GetKeyDigest()) != string(want[:]) {
		t.Fatalf("receipt %x, want the key's digest %x", stored.GetKeyDigest(), want)
	}
	_, st, named, qd := f.askListed(via, params, he.QueryByKeyDigest)
	wantListed(t, f.liveResults(via(named), params, st, qd))

	via = f.restart(t)
	s1, _, named, _ := f.askListed(via, params, he.QueryByKeyDigest)
	f.wantUnknownKey(via(named), s1)
	if uploadKey(via, category, 1, key).GetLiveKeyStored() == nil {
		t.Fatal("key upload after the restart refused")
	}
	_, st, named, qd = f.askListed(via, params, he.QueryByKeyDigest)
	wantListed(t, f.liveResults(via(named), params, st, qd))
}

// TestLiveKeyLostAfterAnswer: over QUIC, a query naming its key by digest
// is answered and recorded, then the provider restarts: the key and the
// kept answer are gone, the exchange's step is still taken by that query.
// The identical query is refused UNKNOWN_KEY, the record kept, before it
// is decoded or spends one of the requester's re-evaluation tokens; the
// same query carrying its key (hepsi's QueryWithKey) has the same digest,
// so the same signature, and is answered again as the exchange's query,
// the one re-evaluation of the recovery.
// Played as the member, other ciphertexts under the same key, naming it
// or carrying it and signed for the same exchange, are another query on a
// taken step: refused REPLAYED_SEQUENCE before they are decoded, before
// and after the answer. Only the POPRF steps are billed.
func TestLiveKeyLostAfterAnswer(t *testing.T) {
	f, via, params, he := newLiveKeysFixture(t)
	key, err := he.EvaluationKey().MarshalBinary()
	must(t, err)
	if uploadKey(via, category, 1, key).GetLiveKeyStored() == nil {
		t.Fatal("key upload refused")
	}
	s1, st, named, qd := f.askListed(via, params, he.QueryByKeyDigest)
	wantListed(t, f.liveResults(via(named), params, st, qd))

	via = f.restart(t)
	if got := via(named).GetError().GetCode(); got != riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_KEY {
		t.Fatalf("the query naming a key lost in the restart: %v, want UNKNOWN_KEY", got)
	}
	if decoded, reevaluated, _ := f.p.LiveQueries(); decoded != 0 || reevaluated != 0 {
		t.Fatalf("the refused query cost %d decodes and %d re-evaluation tokens, want none", decoded, reevaluated)
	}
	if rec, err := f.p.liveStep(exchangeKey(s1.header)); err != nil || rec == nil || !rec.Answered() {
		t.Fatalf("the exchange's record after UNKNOWN_KEY: %+v (%v), want the answered step kept", rec, err)
	}
	others := func() {
		t.Helper()
		for _, encrypt := range []func(io.Reader, [][]byte) (*hepsi.Query, *hepsi.QueryState, error){he.QueryByKeyDigest, he.Query} {
			q, _, err := encrypt(nil, s1.outputs)
			must(t, err)
			if q.KeyDigest() != he.EvaluationKey().Digest() {
				t.Fatal("the other query names another key")
			}
			other, _ := f.signedLiveQuery(q, params, s1.hdr, s1.respDigest)
			decoded, _, _ := f.p.LiveQueries()
			wantCode(t, via(other), codeReplayed)
			if again, _, _ := f.p.LiveQueries(); again != decoded {
				t.Fatal("another query on a taken step was decoded")
			}
		}
	}
	others()
	q, err := st.QueryWithKey()
	must(t, err)
	withKey, qd2 := f.signedLiveQuery(q, params, s1.hdr, s1.respDigest)
	if qd2 != qd {
		t.Fatal("the query carrying its key has another live query digest")
	}
	// The requester's first signature covers it: the query is the same.
	withKey.GetLiveQuery().RequesterSignature = named.GetLiveQuery().GetRequesterSignature()
	wantListed(t, f.liveResults(via(withKey), params, st, qd))
	if _, reevaluated, _ := f.p.LiveQueries(); reevaluated != 1 {
		t.Fatalf("%d re-evaluations, want 1 (the query carrying its key)", reevaluated)
	}
	others()
	f.flush()
	if got := f.billed(t); got != 2*livePrice {
		t.Fatalf("billed %d, want one POPRF step of 2 items at %d", got, livePrice)
	}
}

// TestAdversaryLiveKeyUpload plays a member uploading keys it should not:
// for another period, a category not served live, another provider, or
// bytes that are no key of the announced parameters; each is refused
// with nothing stored. Then it uploads its own keys in a loop (unbilled):
// the cache stays within its capacity and another member's key, held
// while no one holds more keys, is still resolved for that member; the
// flooder's last key stays usable, so the bound costs it only its own
// older keys.
func TestAdversaryLiveKeyUpload(t *testing.T) {
	f, via, params, he := newLiveKeysFixture(t)
	key, err := he.EvaluationKey().MarshalBinary()
	must(t, err)
	bad := append([]byte(nil), key...)
	bad[0] ^= 1
	for _, c := range []struct {
		name     string
		req      *riskmeshv1.PeerRequest
		wantCode riskmeshv1.ErrorCode
	}{
		{"next period", &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveKey{LiveKey: &riskmeshv1.LiveKeyUpload{
			Provider: providerMSP, Category: category, Period: 2, Key: key}}}, riskmeshv1.ErrorCode_ERROR_CODE_STALE},
		{"category not served", &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveKey{LiveKey: &riskmeshv1.LiveKeyUpload{
			Provider: providerMSP, Category: "other", Period: 1, Key: key}}}, riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND},
		{"other provider", &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveKey{LiveKey: &riskmeshv1.LiveKeyUpload{
			Provider: requesterMSP, Category: category, Period: 1, Key: key}}}, riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND},
		{"not a key", &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveKey{LiveKey: &riskmeshv1.LiveKeyUpload{
			Provider: providerMSP, Category: category, Period: 1, Key: bad}}}, riskmeshv1.ErrorCode_ERROR_CODE_STALE},
		{"truncated key", &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveKey{LiveKey: &riskmeshv1.LiveKeyUpload{
			Provider: providerMSP, Category: category, Period: 1, Key: key[:1000]}}}, riskmeshv1.ErrorCode_ERROR_CODE_STALE},
	} {
		if got := via(c.req).GetError().GetCode(); got != c.wantCode {
			t.Fatalf("%s: %v, want %v", c.name, got, c.wantCode)
		}
	}
	if n := f.p.heKeys.Len(); n != 0 {
		t.Fatalf("refused uploads left %d keys", n)
	}

	const capacity = 3
	f.p.heKeys = hepsi.NewKeyCache(capacity)
	victim, err := hepsi.NewRequester(params)
	must(t, err)
	f.p.heKeys.Add("VictimMSP", victim.EvaluationKey())
	own := make([]*hepsi.Requester, capacity)
	for i := range own {
		own[i], err = hepsi.NewRequester(params)
		must(t, err)
	}
	for i := range 4 * capacity {
		k, err := own[i%len(own)].EvaluationKey().MarshalBinary()
		must(t, err)
		if uploadKey(via, category, 1, k).GetLiveKeyStored() == nil {
			t.Fatalf("upload %d refused", i)
		}
		if n := f.p.heKeys.Len(); n > capacity {
			t.Fatalf("after upload %d the cache holds %d keys, capacity %d", i, n, capacity)
		}
	}
	resolves := func(owner string, r *hepsi.Requester) error {
		q, _, err := r.QueryByKeyDigest(nil, [][]byte{make([]byte, hepsi.MinItemSize)})
		must(t, err)
		_, err = f.p.heKeys.Resolve(owner, q)
		return err
	}
	if err := resolves("VictimMSP", victim); err != nil {
		t.Fatalf("another member's key after the flood: %v", err)
	}
	if err := resolves(requesterMSP, own[(4*capacity-1)%len(own)]); err != nil {
		t.Fatalf("the flooder's last key: %v", err)
	}
	if err := resolves(requesterMSP, victim); !errors.Is(err, hepsi.ErrUnknownKey) {
		t.Fatalf("the victim's key resolved for the flooder: %v", err)
	}
}

// TestAdversaryLiveKeyUploadBudget plays a member that uploads its valid
// evaluation key in a loop over QUIC, each upload a 1.57 MB decode for the
// provider and unbilled: beyond its budget (DefaultLiveKeyBurst in a row,
// then DefaultLiveKeyPerMinute) every upload is refused RATE_LIMITED with
// the wait until its next one, before it is decoded, so the provider
// decodes no more than the budget however long the loop runs. Another
// member's upload is taken meanwhile, and the flooder's own live queries
// are still answered with the key they carry.
func TestAdversaryLiveKeyUploadBudget(t *testing.T) {
	f, via, params, he := newLiveKeysFixture(t)
	now := time.Unix(1_800_000_000, 0)
	f.p.cfg.Now = func() time.Time { return now }
	key, err := he.EvaluationKey().MarshalBinary()
	must(t, err)
	const flood = 3 * DefaultLiveKeyBurst
	refusedAt := -1
	for i := range flood {
		resp := uploadKey(via, category, 1, key)
		if resp.GetLiveKeyStored() != nil {
			if refusedAt >= 0 {
				t.Fatalf("upload %d taken after upload %d was refused, the clock standing still", i, refusedAt)
			}
			continue
		}
		pe := resp.GetError()
		if pe.GetCode() != riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED || pe.GetRetryAfterMs() == 0 {
			t.Fatalf("upload %d: %v, want RATE_LIMITED with a retry hint", i, resp)
		}
		if refusedAt < 0 {
			refusedAt = i
		}
	}
	if refusedAt != DefaultLiveKeyBurst {
		t.Fatalf("first refusal at upload %d, want %d", refusedAt, DefaultLiveKeyBurst)
	}
	decoded, refused := f.p.LiveKeyUploads()
	if decoded != DefaultLiveKeyBurst || refused != flood-DefaultLiveKeyBurst {
		t.Fatalf("%d uploads decoded and %d refused, want %d and %d", decoded, refused, DefaultLiveKeyBurst, flood-DefaultLiveKeyBurst)
	}

	// Another member's budget is its own.
	const other = "OtherMSP"
	must(t, f.regulator.AddInstitution(f.ctx, other, "Other", []accounting.Role{accounting.RoleRequester}))
	must(t, f.dir.Refresh(f.ctx))
	otherHE, err := hepsi.NewRequester(params)
	must(t, err)
	otherKey, err := otherHE.EvaluationKey().MarshalBinary()
	must(t, err)
	upload := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LiveKey{LiveKey: &riskmeshv1.LiveKeyUpload{
		Provider: providerMSP, Category: category, Period: 1, Key: otherKey,
	}}}
	if resp := f.p.Handle(f.ctx, peer.Identity{MSPID: other}, upload); resp.GetLiveKeyStored() == nil {
		t.Fatalf("another member's upload during the flood: %v", resp)
	}

	// The flooder's queries carry their key, as without uploads.
	_, st, withKey, qd := f.askListed(via, params, he.Query)
	wantListed(t, f.liveResults(via(withKey), params, st, qd))

	// The budget refills at its rate: one upload a quarter minute later,
	// not two.
	now = now.Add(time.Minute / DefaultLiveKeyPerMinute)
	if uploadKey(via, category, 1, key).GetLiveKeyStored() == nil {
		t.Fatal("upload refused once the budget refilled")
	}
	if got := uploadKey(via, category, 1, key).GetError().GetCode(); got != riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED {
		t.Fatalf("second upload after one refill: %v, want RATE_LIMITED", got)
	}
	if decoded, _ := f.p.LiveKeyUploads(); decoded != DefaultLiveKeyBurst+2 {
		t.Fatalf("%d uploads decoded, want the flooder's %d and one more, and the other member's one", decoded, DefaultLiveKeyBurst)
	}
}
