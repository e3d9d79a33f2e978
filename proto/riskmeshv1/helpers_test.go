package riskmeshv1

import (
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

const (
	testRequester = "BankAMSP"
	testProvider  = "LenderBMSP"
	testCategory  = "black"
	testPeriod    = 20261122
)

// exchange is a real catalog-PSI and ECDH-PSI exchange produced by the psi
// packages, so that the fixtures carry exactly what nodes will send.
type exchange struct {
	oprfPub  *oprf.PublicKey
	info     []byte
	header   []byte // catalog-OPRF transcript header
	blinded  []byte
	evaled   []byte
	proof    []byte
	reqSig   []byte
	respSig  []byte
	ecdhHdr  []byte // ECDH BothLearn transcript header
	ecdhReq  []byte
	ecdhRep  []byte
	ecdhRet  []byte
	keyID    [32]byte
	digest   [32]byte
	signKey  []byte // requester's PKIX DER public key
	respKey  []byte // responder's PKIX DER public key
	reqDig   [transcript.DigestSize]byte
	respDig  [transcript.DigestSize]byte
	ecdhSize int
}

// newExchange runs a three-item catalog-PSI batch and a three-item ECDH-PSI
// session and signs the catalog-PSI transcript.
func newExchange(t testing.TB) *exchange {
	t.Helper()
	x := &exchange{ecdhSize: 3}
	key, err := oprf.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x.oprfPub = key.Public()
	x.info = catalogpsi.Info(testCategory, testPeriod)
	client, err := oprf.NewClient(x.oprfPub, x.info)
	if err != nil {
		t.Fatal(err)
	}
	_, x.blinded, err = client.Blind(rand.Reader, [][]byte{
		[]byte("phone:+8613800138000"), []byte("card:6222020200112233445"), []byte("device:AbC-123"),
	})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := oprf.NewEvaluator(key, x.info)
	if err != nil {
		t.Fatal(err)
	}
	evaled, proof, err := ev.BlindEvaluate(rand.Reader, x.blinded)
	if err != nil {
		t.Fatal(err)
	}
	x.evaled, x.proof = evaled, proof[:]
	x.keyID = sha256.Sum256([]byte("provider oprf key"))
	x.digest = sha256.Sum256([]byte("catalog encoding"))

	h := &transcript.Header{
		Protocol: transcript.ProtocolCatalogOPRF, Suite: transcript.SuiteRistretto255SHA512,
		Category: testCategory, Period: testPeriod, Requester: testRequester, Responder: testProvider,
		Sequence: 7, Count: 3, KeyID: x.keyID,
	}
	if x.header, err = h.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	req := &transcript.Request{Elements: split(x.blinded)}
	resp := &transcript.Response{Evaluated: split(x.evaled), Proof: x.proof}
	reqHash, err := transcript.HashRequest(h, req)
	if err != nil {
		t.Fatal(err)
	}
	if x.reqDig, err = transcript.RequestDigest(h, reqHash); err != nil {
		t.Fatal(err)
	}
	respHash, err := transcript.HashResponse(h, resp)
	if err != nil {
		t.Fatal(err)
	}
	x.respDig = transcript.ResponseDigest(x.reqDig, respHash)
	var reqSign, respSign ecsig.Sign
	reqSign, x.signKey = newSigner(t)
	respSign, x.respKey = newSigner(t)
	if x.reqSig, err = transcript.SignRequest(reqSign, x.reqDig); err != nil {
		t.Fatal(err)
	}
	if x.respSig, err = transcript.SignResponse(respSign, x.respDig); err != nil {
		t.Fatal(err)
	}

	eh := *h
	eh.Protocol = transcript.ProtocolECDHBothLearn
	eh.Suite = transcript.SuiteRistretto255SHA512
	if x.ecdhHdr, err = eh.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	mine := [][]byte{[]byte("phone:+8613800138000"), []byte("phone:+8613800138001"), []byte("phone:+8613800138002")}
	theirs := [][]byte{[]byte("phone:+8613800138001"), []byte("phone:+8613800138009"), []byte("phone:+8613800138002")}
	r, err := ecdh.NewRequester(ecdh.BothLearn, x.ecdhHdr, mine, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ecdh.NewResponder(ecdh.BothLearn, x.ecdhHdr, theirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	m1, err := r.Request()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := s.Answer(m1)
	if err != nil {
		t.Fatal(err)
	}
	_, m3, err := r.Finish(m2)
	if err != nil {
		t.Fatal(err)
	}
	if x.ecdhReq, err = m1.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	if x.ecdhRep, err = m2.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	if x.ecdhRet, err = m3.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	return x
}

// split views a flat element array as its 32-byte elements, without copying.
func split(flat []byte) [][]byte {
	out := make([][]byte, 0, len(flat)/oprf.ElementSize)
	for len(flat) >= oprf.ElementSize {
		out = append(out, flat[:oprf.ElementSize:oprf.ElementSize])
		flat = flat[oprf.ElementSize:]
	}
	return out
}

// newSigner returns a fresh P-256 transcript signer and its PKIX DER key.
func newSigner(t testing.TB) (ecsig.Sign, []byte) {
	t.Helper()
	k, der, err := ecsig.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ecsig.NewSigner(k, rand.Reader), der
}

// fixture is one populated message of a kind.
type fixture struct {
	name string
	msg  proto.Message
}

// peerFixtures returns one PeerRequest and one PeerResponse per body kind,
// every field set, carrying x's payloads.
func peerFixtures(x *exchange) []fixture {
	return []fixture{
		{"PeerRequest/CatalogInfo", &PeerRequest{Body: &PeerRequest_CatalogInfo{CatalogInfo: &CatalogInfoRequest{
			Provider: testProvider, Category: testCategory, Period: testPeriod,
		}}}},
		{"PeerRequest/CatalogDownload", &PeerRequest{Body: &PeerRequest_CatalogDownload{CatalogDownload: &CatalogDownloadRequest{
			Provider: testProvider, Category: testCategory, Period: testPeriod,
			Offset: 1 << 20, MaxChunk: DefaultCatalogChunk, Limit: 4 << 20, ExpectedDigest: x.digest[:],
		}}}},
		{"PeerRequest/Evaluate", &PeerRequest{Body: &PeerRequest_Evaluate{Evaluate: &EvaluateRequest{
			Header: x.header, Blinded: x.blinded, RequesterSignature: x.reqSig,
		}}}},
		{"PeerRequest/ECDH", &PeerRequest{Body: &PeerRequest_Ecdh{Ecdh: &ECDHRequest{
			Header: x.ecdhHdr, Message: x.ecdhReq, RequesterSignature: x.reqSig,
		}}}},
		{"PeerRequest/ECDHReturn", &PeerRequest{Body: &PeerRequest_EcdhReturn{EcdhReturn: &ECDHReturn{
			Message: x.ecdhRet,
		}}}},
		{"PeerRequest/LedgerInvoke", &PeerRequest{Body: &PeerRequest_LedgerInvoke{LedgerInvoke: &LedgerInvoke{
			Function: "Record", Submit: true, Argument: []byte(`[{"header":"AQI=","amount":30}]`),
		}}}},
		{"PeerRequest/Redeliver", &PeerRequest{Body: &PeerRequest_Redeliver{Redeliver: &RedeliverRequest{
			Period: testPeriod, Requester: "Bank1MSP", Sequence: 7,
		}}}},
		{"PeerRequest/LiveInfo", &PeerRequest{Body: &PeerRequest_LiveInfo{LiveInfo: &LiveInfoRequest{
			Provider: testProvider, Category: testCategory, Period: testPeriod,
		}}}},
		{"PeerRequest/LiveQuery", &PeerRequest{Body: &PeerRequest_LiveQuery{LiveQuery: &LiveQuery{
			Header: x.header, Query: []byte{1, 2, 3}, RequesterSignature: x.reqSig,
		}}}},
		{"PeerResponse/LiveInfo", &PeerResponse{Body: &PeerResponse_LiveInfo{LiveInfo: &LiveInfo{
			Provider: testProvider, Category: testCategory, Period: testPeriod, KeyId: x.keyID[:], Params: []byte{1, 13},
		}}}},
		{"PeerResponse/LiveAnswer", &PeerResponse{Body: &PeerResponse_LiveAnswer{LiveAnswer: &LiveAnswer{
			Answer: []byte{1, 4, 5}, ResponderSignature: x.reqSig,
		}}}},
		{"PeerResponse/CatalogInfo", &PeerResponse{Body: &PeerResponse_CatalogInfo{CatalogInfo: &CatalogInfo{
			Provider: testProvider, Category: testCategory, Period: testPeriod, Suite: catalogpsi.Suite,
			KeyId: x.keyID[:], Items: 10_000_000, TotalLength: 225_000_123, Digest: x.digest[:],
		}}}},
		{"PeerResponse/CatalogChunk", &PeerResponse{Body: &PeerResponse_CatalogChunk{CatalogChunk: &CatalogChunk{
			Offset: 1 << 20, Data: []byte(catalog.Magic + "\x01 slot bytes"), TotalLength: 225_000_123, Digest: x.digest[:],
		}}}},
		{"PeerResponse/Evaluate", &PeerResponse{Body: &PeerResponse_Evaluate{Evaluate: &EvaluateResponse{
			Evaluated: x.evaled, Proof: x.proof, ResponderSignature: x.respSig,
		}}}},
		{"PeerResponse/ECDHReply", &PeerResponse{Body: &PeerResponse_EcdhReply{EcdhReply: &ECDHReply{
			Message: x.ecdhRep, ResponderSignature: x.respSig,
		}}}},
		{"PeerResponse/ECDHDone", &PeerResponse{Body: &PeerResponse_EcdhDone{EcdhDone: &ECDHDone{}}}},
		{"PeerResponse/LedgerResult", &PeerResponse{Body: &PeerResponse_LedgerResult{LedgerResult: &LedgerResult{
			Result: []byte(`[{"index":0,"status":"recorded"}]`),
		}}}},
		{"PeerResponse/Redelivered", &PeerResponse{Body: &PeerResponse_Redelivered{Redelivered: &Redelivered{
			Transcript: []byte("RMTX"), LiveStep: testLiveStep,
		}}}},
		{"PeerResponse/Error", &PeerResponse{Body: &PeerResponse_Error{Error: &PeerError{
			Code: ErrorCode_ERROR_CODE_MALFORMED, Message: "blinded element is the identity",
			RetryAfterMs: 250, MaxItems: 4096, ElementIndex: proto.Uint32(2),
		}}}},
	}
}

// nodeFixtures returns one populated message per business API request,
// response and stream event kind. Every field is set, so some combinations
// (an invalid item with hits) are wire fixtures, not valid answers.
// testEntryKey is an entry key with every field set.
var testEntryKey = &EntryKey{Period: testPeriod, Requester: "Bank1MSP", Responder: testProvider, Sequence: 7}

// testLiveStep stands for an accounting/audit LiveStep encoding.
var testLiveStep = []byte("live step")

// auditFixtures are the auditor service's messages and the stored records
// of node/auditor and node/dispute.
func auditFixtures(x *exchange) []fixture {
	now := timestamppb.New(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	verdict := &AuditVerdict{
		DisputeId: 1, Key: testEntryKey, Auditor: "RegulatorMSP", Verdict: Verdict_VERDICT_UPHELD,
		Reason: "the provider's answer does not verify", Checks: []*AuditCheck{{Name: "proof", Status: AuditStatus_AUDIT_STATUS_FAIL, Detail: "oprf: proof verification failed"}},
		EndorsementSignature: x.respSig, ResponseDigest: make([]byte, 32), StatementSignature: x.respSig, DecidedAt: now,
	}
	return []fixture{
		{"FileDisputeRequest", &FileDisputeRequest{Transcript: []byte("RMTX"), Reason: "proof failed", NonDelivery: testEntryKey,
			LiveUnanswered: &LiveUnanswered{Entry: testEntryKey, LiveStep: testLiveStep}}},
		{"FileDisputeResponse", &FileDisputeResponse{Verdict: verdict, Transcript: []byte("RMTX"), LiveStep: testLiveStep}},
		{"StoredDispute", &StoredDispute{Verdict: verdict, Transcript: []byte("RMTX"), Claim: "proof failed", FiledAt: now}},
		{"DisputeRecord", &DisputeRecord{
			Transcript: []byte("RMTX"), Claim: "proof failed", State: DisputeState_DISPUTE_STATE_PENDING, Verdict: verdict,
			Attempts: 2, NextAttempt: now, LastError: "auditor unreachable", NonDelivery: testEntryKey,
			LiveUnanswered: &LiveUnanswered{Entry: testEntryKey, LiveStep: testLiveStep},
		}},
	}
}

func nodeFixtures() []fixture {
	now := timestamppb.New(time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC))
	label := &Label{CategoryCode: 1, ReasonCode: 4021, ListedDate: "2026-03-14", ProviderReference: []byte("REF00042")}
	peerErr := &PeerError{Code: ErrorCode_ERROR_CODE_UNAVAILABLE, Message: "deadline exceeded", RetryAfterMs: 1000,
		MaxItems: 1, ElementIndex: proto.Uint32(0)}
	provResult := &ProviderResult{
		Provider: testProvider, Status: ProviderStatus_PROVIDER_STATUS_ANSWERED,
		Hits:  []*ProviderHit{{Index: 1, Label: label}},
		Items: 2, Amount: 20, Error: peerErr, Attempts: 1, Latency: durationpb.New(42 * time.Millisecond),
		Disputes: []*ExchangeDispute{{Key: testEntryKey, State: DisputeState_DISPUTE_STATE_REVERSED, Reason: "proof does not verify"}},
		Late:     true,
		LateChange: &LateChange{PreviousStatus: ProviderStatus_PROVIDER_STATUS_REFUSED, PreviousAmount: 10,
			Source: LateSource_LATE_SOURCE_LATE_ANSWER, ChangedAt: now},
		Exchanges: []*SentExchange{{Sequence: 7, Items: 2}},
		Mode:      QueryMode_QUERY_MODE_LIVE,
	}
	result := &QueryResult{
		QueryId: "q-0001",
		Items: []*ItemResult{{
			Index: 1, Hits: []*Hit{{Provider: testProvider, Label: label}},
			InvalidReason: InvalidReason_INVALID_REASON_CHECKSUM, InvalidDetail: "check digit mismatch",
		}},
		Providers: []*ProviderResult{provResult}, Amount: 20, CompletedAt: now,
	}
	remote := &RemoteCatalog{
		Provider: testProvider, Category: testCategory, Period: testPeriod, State: CatalogState_CATALOG_STATE_BUILDING,
		Digest: make([]byte, 32), BytesDone: 1 << 20, TotalLength: 4 << 20, Items: 1000, Error: "digest mismatch", UpdatedAt: now,
	}
	imp := &ListImport{
		Source: "blacklist-csv", Rows: 3, Accepted: 2, Rejected: 1,
		RejectedRows: []*RejectedRow{{Line: 3, Reason: "ident: check digit mismatch"}},
		Categories:   []string{testCategory}, Error: "none", Duration: durationpb.New(time.Second),
	}
	return []fixture{
		{"QueryRequest", &QueryRequest{
			Category: testCategory,
			Identifiers: []*Identifier{
				{Type: IdentifierType_IDENTIFIER_TYPE_PHONE, Value: "+86 138-0013-8000"},
				{Type: IdentifierType_IDENTIFIER_TYPE_IDCARD, Value: "11010519491231002X"},
			},
			Providers: []string{testProvider}, Deadline: durationpb.New(5 * time.Second), ClientRequestId: "batch-17",
			MinConfirmationBp: 7500, RankByQuality: true, Mode: QueryMode_QUERY_MODE_AUTO,
		}},
		{"ReportOutcomesRequest", &ReportOutcomesRequest{QueryId: "q-0001", Provider: testProvider, Hits: []*HitFeedback{
			{Index: 1, Outcome: HitOutcome_HIT_OUTCOME_CONFIRMED}, {Index: 3, Outcome: HitOutcome_HIT_OUTCOME_WRONG},
		}}},
		{"ReportOutcomesResponse", &ReportOutcomesResponse{Entries: 2}},
		{"QueryEvent/Accepted", &QueryEvent{Body: &QueryEvent_Accepted{Accepted: &QueryAccepted{
			QueryId: "q-0001", Providers: []string{testProvider}, ValidIdentifiers: 2, Period: testPeriod, CreatedAt: now,
		}}}},
		{"QueryEvent/ProviderResult", &QueryEvent{Body: &QueryEvent_ProviderResult{ProviderResult: provResult}}},
		{"QueryEvent/Result", &QueryEvent{Body: &QueryEvent_Result{Result: result}}},
		{"GetQueryRequest", &GetQueryRequest{QueryId: "q-0001"}},
		{"ReconcileRequest", &ReconcileRequest{Period: testPeriod}},
		{"ReconcileReport", &ReconcileReport{
			Period: testPeriod, Matched: 5, Recovered: 1, Disputed: 1, Pending: 1, Reversed: 1, Billed: 80, ReversedAmount: 10,
			Entries:  []*ReconciledEntry{{Key: testEntryKey, Amount: 10, State: ReconcileState_RECONCILE_STATE_DISPUTED, Note: "not redelivered"}},
			LastPass: now,
		}},
		{"ReconcileRecord", &ReconcileRecord{
			State: ReconcileState_RECONCILE_STATE_PENDING, Amount: 10, Note: "provider unreachable", FirstMissing: now, Attempts: 3,
		}},
		{"PushEvent", &PushEvent{
			EventId: "3f1c0e9a5b7d2c4e6f8a1b3c5d7e9f01", Type: PushEventType_PUSH_EVENT_TYPE_QUERY_CHANGED, Stream: "q-0001",
			StreamSequence: 4, RecordedAt: now, QueryId: "q-0001", Category: testCategory, ClientRequestId: "batch-17",
			ProviderResult: provResult, Result: result,
			Reconciled: &ReconciledEntry{Key: testEntryKey, Amount: 10, State: ReconcileState_RECONCILE_STATE_REVERSED, Note: "reversed"},
			Dispute:    &ExchangeDispute{Key: testEntryKey, State: DisputeState_DISPUTE_STATE_REJECTED, Reason: "the answer verifies"},
		}},
		{"ListDeadEventsRequest", &ListDeadEventsRequest{Destination: "core-banking", Limit: 50}},
		{"ListDeadEventsResponse", &ListDeadEventsResponse{Events: []*DeadEvent{{
			Destination: "core-banking", EventId: "3f1c0e9a5b7d2c4e6f8a1b3c5d7e9f01", Type: PushEventType_PUSH_EVENT_TYPE_QUERY_RESULT,
			Stream: "q-0001", StreamSequence: 3, Attempts: 20, LastError: "webhook: status 503", DiedAt: now,
		}}}},
		{"ReplayDeadEventsRequest", &ReplayDeadEventsRequest{Destination: "core-banking", EventIds: []string{"3f1c0e9a5b7d2c4e6f8a1b3c5d7e9f01"}}},
		{"ReplayDeadEventsResponse", &ReplayDeadEventsResponse{Replayed: 1}},
		{"GetTranscriptRequest", &GetTranscriptRequest{Period: testPeriod, Responder: testProvider, Sequence: 7}},
		{"GetTranscriptResponse", &GetTranscriptResponse{Transcript: []byte("RMTX")}},
		{"QueryRecord", &QueryRecord{
			QueryId: "q-0001", State: QueryState_QUERY_STATE_COMPLETE, Category: testCategory, Period: testPeriod,
			Identifiers: 2, CreatedAt: now, ProviderResults: []*ProviderResult{provResult}, Result: result,
			ClientRequestId: "batch-17", Ranking: map[string]uint32{testProvider: 7500},
		}},
		{"ListQueriesRequest", &ListQueriesRequest{PageSize: 50, PageToken: "p2", Category: testCategory, Since: now}},
		{"ListQueriesResponse", &ListQueriesResponse{
			Queries: []*QuerySummary{{
				QueryId: "q-0001", State: QueryState_QUERY_STATE_RUNNING, Category: testCategory, Period: testPeriod,
				Identifiers: 2, HitIdentifiers: 1, Amount: 20, CreatedAt: now, ClientRequestId: "batch-17",
			}},
			NextPageToken: "p3",
		}},
		{"BalanceRequest", &BalanceRequest{}},
		{"BalanceResponse", &BalanceResponse{
			MspId: testRequester, Balance: -1200, OverdraftLimit: 100_000, Flagged: true, Period: testPeriod,
			UnsettledSpend: 340, UnsettledEarnings: 90, Headroom: 98_460, LedgerAsOf: now,
		}},
		{"ProvidersRequest", &ProvidersRequest{Category: testCategory}},
		{"ProvidersResponse", &ProvidersResponse{
			Providers: []*ProviderInfo{{
				MspId: testProvider, Name: "Lender B", Active: true, Categories: []string{testCategory, "grey"},
				Endpoint: "lender-b.example:7443", Reachable: true, Catalogs: []*RemoteCatalog{remote},
				Quality: []*ProviderQuality{{
					Category: testCategory, Coverage: 3, Shown: true, HitRateBp: 4000, ConfirmationBp: 7500, WrongRateBp: 2500,
					FromPeriod: testPeriod - 2, ToPeriod: testPeriod, MultiplierBp: 5000, Tier: 2,
				}},
			}},
			Prices: map[string]int64{testCategory: 10, "grey": 4}, Period: testPeriod,
		}},
		{"ImportListRequest", &ImportListRequest{Source: "blacklist-csv", Path: "/srv/lists/black.csv", Replace: true, DryRun: true}},
		{"ImportListResponse", &ImportListResponse{Import: imp}},
		{"RefreshListsRequest", &RefreshListsRequest{Sources: []string{"blacklist-csv", "pg-grey"}}},
		{"RefreshListsResponse", &RefreshListsResponse{Imports: []*ListImport{imp}}},
		{"CatalogStatusRequest", &CatalogStatusRequest{Category: testCategory}},
		{"CatalogStatusResponse", &CatalogStatusResponse{
			Local: []*LocalCatalog{{
				Category: testCategory, Period: testPeriod, State: CatalogState_CATALOG_STATE_READY, Serving: true,
				Items: 1000, TotalLength: 22_700, Digest: make([]byte, 32), EntriesDone: 1000, EntriesTotal: 1000,
				Error: "none", UpdatedAt: now,
				StaleSources: []*StaleSource{{Source: "fraud", LastGood: now, Error: "line 3: bare quote"}},
			}},
			Remote: []*RemoteCatalog{remote},
		}},
		{"RotateKeysRequest", &RotateKeysRequest{Kind: KeyKind_KEY_KIND_OPRF, Category: testCategory}},
		{"RotateKeysResponse", &RotateKeysResponse{
			Kind: KeyKind_KEY_KIND_OPRF, Category: testCategory, PublicKey: make([]byte, 32), KeyId: make([]byte, 32),
			EffectivePeriod: testPeriod + 1,
		}},
		{"HealthRequest", &HealthRequest{}},
		{"HealthResponse", &HealthResponse{
			Status: HealthStatus_HEALTH_STATUS_DEGRADED,
			Components: []*ComponentHealth{{Name: "ledger", Status: HealthStatus_HEALTH_STATUS_DEGRADED,
				Message: "unreachable; entries queued"}},
			OutboxDepth: 12, Version: "v0.1.0", MspId: testRequester, Period: testPeriod,
		}},
	}
}

// unsetFields returns the full names of the fields of m (recursively) that
// are not set, so a fixture cannot silently leave a field out of the
// round trip. A oneof counts as set if one of its fields is.
func unsetFields(m protoreflect.Message) []string {
	var missing []string
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if m.WhichOneof(od) == nil && fd.Index() == od.Fields().Get(0).Index() {
				missing = append(missing, string(od.FullName()))
			}
			if m.WhichOneof(od) != fd {
				continue
			}
		}
		if !m.Has(fd) {
			missing = append(missing, string(fd.FullName()))
			continue
		}
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := m.Get(fd).List()
			for j := 0; j < l.Len(); j++ {
				missing = append(missing, unsetFields(l.Get(j).Message())...)
			}
		case fd.IsMap():
		case fd.Message() != nil && fd.Message().ParentFile().Package() == "google.protobuf":
			// Well-known types: a zero nanos is a valid, unset-looking value.
		case fd.Message() != nil:
			missing = append(missing, unsetFields(m.Get(fd).Message())...)
		}
	}
	return missing
}
