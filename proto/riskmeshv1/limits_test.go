package riskmeshv1

import (
	"bytes"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// boundSlack is how much a size bound may exceed the largest real encoding:
// the bounds charge 7 bytes of framing per length-delimited field where
// protobuf spends 2 to 4, so a few bytes per field, never kilobytes.
const boundSlack = 64

// fill returns n bytes of a repeated non-zero byte.
func fill(n int) []byte { return bytes.Repeat([]byte{0xa5}, n) }

// fillString returns an n-byte string.
func fillString(n int) string { return string(fill(n)) }

// checkBound fails unless size <= bound <= size + boundSlack.
func checkBound(t *testing.T, size, bound int) {
	t.Helper()
	if size > bound {
		t.Fatalf("encoding is %d bytes, over the bound %d", size, bound)
	}
	if bound-size > boundSlack {
		t.Fatalf("bound %d is %d bytes above the largest encoding %d: not derived from the payloads", bound, bound-size, size)
	}
}

// TestMaxSizes builds the largest message of each kind the payload bounds
// allow (every field at its longest, every integer at its widest) and checks
// each exported bound covers it, tightly.
func TestMaxSizes(t *testing.T) {
	const u64 = math.MaxUint64
	const u32 = math.MaxUint32
	tests := []struct {
		name  string
		msg   proto.Message
		bound int
	}{
		{"CatalogInfoRequest", &PeerRequest{Body: &PeerRequest_CatalogInfo{CatalogInfo: &CatalogInfoRequest{
			Provider: fillString(transcript.MaxPartyLen), Category: fillString(transcript.MaxCategoryLen), Period: u64,
		}}}, MaxCatalogInfoRequestSize},
		{"CatalogDownloadRequest", &PeerRequest{Body: &PeerRequest_CatalogDownload{CatalogDownload: &CatalogDownloadRequest{
			Provider: fillString(transcript.MaxPartyLen), Category: fillString(transcript.MaxCategoryLen), Period: u64,
			Offset: u64, MaxChunk: u32, Limit: u64, ExpectedDigest: fill(32),
		}}}, MaxCatalogDownloadRequestSize},
		{"EvaluateRequest", &PeerRequest{Body: &PeerRequest_Evaluate{Evaluate: &EvaluateRequest{
			Header: fill(transcript.MaxHeaderSize), Blinded: fill(oprf.MaxBatch * oprf.ElementSize),
			RequesterSignature: fill(ecsig.MaxSignatureSize),
		}}}, MaxEvaluateRequestSize},
		{"CatalogInfo", &PeerResponse{Body: &PeerResponse_CatalogInfo{CatalogInfo: &CatalogInfo{
			Provider: fillString(transcript.MaxPartyLen), Category: fillString(transcript.MaxCategoryLen), Period: u64,
			Suite: fillString(transcript.MaxSuiteLen), KeyId: fill(transcript.KeyIDSize), Items: u64, TotalLength: u64,
			Digest: fill(32),
		}}}, MaxCatalogInfoSize},
		{"CatalogChunk", &PeerResponse{Body: &PeerResponse_CatalogChunk{CatalogChunk: &CatalogChunk{
			Offset: u64, Data: fill(MaxCatalogChunk), TotalLength: u64, Digest: fill(32),
		}}}, MaxCatalogChunkSize},
		{"EvaluateResponse", &PeerResponse{Body: &PeerResponse_Evaluate{Evaluate: &EvaluateResponse{
			Evaluated: fill(oprf.MaxBatch * oprf.ElementSize), Proof: fill(oprf.ProofSize),
			ResponderSignature: fill(ecsig.MaxSignatureSize),
		}}}, MaxEvaluateResponseSize},
		{"ECDHDone", &PeerResponse{Body: &PeerResponse_EcdhDone{EcdhDone: &ECDHDone{}}}, MaxECDHDoneSize},
		{"LedgerInvoke", &PeerRequest{Body: &PeerRequest_LedgerInvoke{LedgerInvoke: &LedgerInvoke{
			Function: fillString(MaxLedgerFunction), Submit: true, Argument: fill(MaxLedgerArgument),
		}}}, MaxLedgerInvokeSize},
		{"RedeliverRequest", &PeerRequest{Body: &PeerRequest_Redeliver{Redeliver: &RedeliverRequest{
			Period: u64, Requester: fillString(transcript.MaxPartyLen), Sequence: u64,
		}}}, MaxRedeliverRequestSize},
		{"LedgerResult", &PeerResponse{Body: &PeerResponse_LedgerResult{LedgerResult: &LedgerResult{
			Result: fill(MaxLedgerResult),
		}}}, MaxLedgerResultSize},
		{"LiveInfoRequest", &PeerRequest{Body: &PeerRequest_LiveInfo{LiveInfo: &LiveInfoRequest{
			Provider: fillString(transcript.MaxPartyLen), Category: fillString(transcript.MaxCategoryLen), Period: u64,
		}}}, MaxLiveInfoRequestSize},
		{"LiveInfo", &PeerResponse{Body: &PeerResponse_LiveInfo{LiveInfo: &LiveInfo{
			Provider: fillString(transcript.MaxPartyLen), Category: fillString(transcript.MaxCategoryLen), Period: u64,
			KeyId: fill(transcript.KeyIDSize), Params: fill(MaxLiveParams),
		}}}, MaxLiveInfoSize},
		{"LiveQuery", &PeerRequest{Body: &PeerRequest_LiveQuery{LiveQuery: &LiveQuery{
			Header: fill(transcript.MaxHeaderSize), Query: fill(MaxLiveQuery), RequesterSignature: fill(ecsig.MaxSignatureSize),
		}}}, MaxLiveQuerySize},
		{"LiveAnswer", &PeerResponse{Body: &PeerResponse_LiveAnswer{LiveAnswer: &LiveAnswer{
			Answer: fill(MaxLiveAnswer), ResponderSignature: fill(ecsig.MaxSignatureSize),
		}}}, MaxLiveAnswerSize},
		{"LiveKeyUpload", &PeerRequest{Body: &PeerRequest_LiveKey{LiveKey: &LiveKeyUpload{
			Provider: fillString(transcript.MaxPartyLen), Category: fillString(transcript.MaxCategoryLen), Period: u64,
			Key: fill(MaxLiveQuery),
		}}}, MaxLiveKeyUploadSize},
		{"LiveKeyStored", &PeerResponse{Body: &PeerResponse_LiveKeyStored{LiveKeyStored: &LiveKeyStored{
			KeyDigest: fill(32),
		}}}, MaxLiveKeyStoredSize},
		{"LedgerChanged", &PeerResponse{Body: &PeerResponse_LedgerChanged{LedgerChanged: &LedgerChanged{
			Version: u64,
		}}}, MaxLedgerChangedSize},
		// A negative enum value is the widest varint (10 bytes).
		{"PeerError", &PeerResponse{Body: &PeerResponse_Error{Error: &PeerError{
			Code: ErrorCode(-1), Message: fillString(MaxErrorMessage), RetryAfterMs: u32, MaxItems: u32,
			ElementIndex: proto.Uint32(u32),
		}}}, MaxPeerErrorSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkBound(t, proto.Size(tt.msg), tt.bound)
		})
	}
}

// TestMaxECDHSizes checks the ECDH-PSI bounds without allocating their
// 128-256 MiB maxima: a real session's messages of n points must fit the
// bound minus the points a maximal message has beyond n, and the fixed part
// of each psi/ecdh encoding must be what the bounds assume.
func TestMaxECDHSizes(t *testing.T) {
	x := newExchange(t)
	n := x.ecdhSize // requester's and responder's set sizes
	missing := (ecdh.MaxSetSize - n) * ecdh.PointSize

	t.Run("encodings", func(t *testing.T) {
		for _, c := range []struct {
			name     string
			enc      []byte
			fixed    int
			elements int
		}{
			{"Request", x.ecdhReq, ecdhMessageHeader, n},
			{"Reply", x.ecdhRep, ecdhMessageHeader + 4, 2 * n},
			{"Return", x.ecdhRet, ecdhMessageHeader, n},
		} {
			if want := c.fixed + c.elements*ecdh.PointSize; len(c.enc) != want {
				t.Errorf("%s: psi/ecdh encoding is %d bytes, the bounds assume %d", c.name, len(c.enc), want)
			}
		}
	})
	t.Run("ECDHRequest", func(t *testing.T) {
		m := &PeerRequest{Body: &PeerRequest_Ecdh{Ecdh: &ECDHRequest{
			Header: fill(transcript.MaxHeaderSize), Message: x.ecdhReq, RequesterSignature: fill(ecsig.MaxSignatureSize),
		}}}
		checkBound(t, proto.Size(m), MaxECDHRequestSize-missing)
	})
	t.Run("ECDHReply", func(t *testing.T) {
		m := &PeerResponse{Body: &PeerResponse_EcdhReply{EcdhReply: &ECDHReply{
			Message: x.ecdhRep, ResponderSignature: fill(ecsig.MaxSignatureSize),
		}}}
		checkBound(t, proto.Size(m), MaxECDHReplySize-2*missing)
	})
	t.Run("ECDHReturn", func(t *testing.T) {
		m := &PeerRequest{Body: &PeerRequest_EcdhReturn{EcdhReturn: &ECDHReturn{Message: x.ecdhRet}}}
		checkBound(t, proto.Size(m), MaxECDHReturnSize-missing)
	})
}

// TestMaxPeerRequestSize checks the first-frame bound covers every
// catalog-PSI request and relayed ledger call, and that ECDH-PSI needs the
// separate, larger bound.
func TestMaxPeerRequestSize(t *testing.T) {
	for _, b := range []int{MaxCatalogInfoRequestSize, MaxCatalogDownloadRequestSize, MaxEvaluateRequestSize, MaxLedgerInvokeSize} {
		if b > MaxPeerRequestSize {
			t.Errorf("request bound %d exceeds MaxPeerRequestSize %d", b, MaxPeerRequestSize)
		}
	}
	if MaxECDHRequestSize <= MaxPeerRequestSize {
		t.Errorf("MaxECDHRequestSize %d should exceed MaxPeerRequestSize %d", MaxECDHRequestSize, MaxPeerRequestSize)
	}
	// A live provider reads requests up to MaxLiveQuerySize.
	if MaxLiveKeyUploadSize > MaxLiveQuerySize {
		t.Errorf("MaxLiveKeyUploadSize %d exceeds MaxLiveQuerySize %d", MaxLiveKeyUploadSize, MaxLiveQuerySize)
	}
	if MaxECDHReplySize > math.MaxUint32 {
		t.Errorf("MaxECDHReplySize %d does not fit a 32-bit length prefix", MaxECDHReplySize)
	}
}

func TestMaxResponseSize(t *testing.T) {
	download := func(maxChunk uint32) *PeerRequest {
		return &PeerRequest{Body: &PeerRequest_CatalogDownload{CatalogDownload: &CatalogDownloadRequest{MaxChunk: maxChunk}}}
	}
	chunkFrame := MaxCatalogChunkSize - MaxCatalogChunk
	tests := []struct {
		name string
		req  *PeerRequest
		want int
	}{
		{"nil", nil, 0},
		{"no body", &PeerRequest{}, 0},
		// Catalog info is smaller than an error frame.
		{"catalog info", &PeerRequest{Body: &PeerRequest_CatalogInfo{CatalogInfo: &CatalogInfoRequest{}}}, MaxPeerErrorSize},
		{"download default chunk", download(0), chunkFrame + DefaultCatalogChunk},
		{"download small chunk", download(4096), chunkFrame + 4096},
		// A tiny chunk's frame is smaller than an error, which must still fit.
		{"download tiny chunk", download(1), MaxPeerErrorSize},
		{"download oversized chunk", download(math.MaxUint32), MaxCatalogChunkSize},
		{"evaluate", &PeerRequest{Body: &PeerRequest_Evaluate{Evaluate: &EvaluateRequest{}}}, MaxEvaluateResponseSize},
		{"ecdh", &PeerRequest{Body: &PeerRequest_Ecdh{Ecdh: &ECDHRequest{}}}, MaxECDHReplySize},
		{"ecdh return", &PeerRequest{Body: &PeerRequest_EcdhReturn{EcdhReturn: &ECDHReturn{}}}, MaxPeerErrorSize},
		{"ledger invoke", &PeerRequest{Body: &PeerRequest_LedgerInvoke{LedgerInvoke: &LedgerInvoke{}}}, MaxLedgerResultSize},
		{"redeliver", &PeerRequest{Body: &PeerRequest_Redeliver{Redeliver: &RedeliverRequest{}}}, MaxRedeliveredSize},
		{"live info", &PeerRequest{Body: &PeerRequest_LiveInfo{LiveInfo: &LiveInfoRequest{}}}, MaxPeerErrorSize},
		{"live query", &PeerRequest{Body: &PeerRequest_LiveQuery{LiveQuery: &LiveQuery{}}}, MaxLiveAnswerSize},
		// A key's receipt is smaller than an error frame.
		{"live key", &PeerRequest{Body: &PeerRequest_LiveKey{LiveKey: &LiveKeyUpload{}}}, MaxPeerErrorSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaxResponseSize(tt.req); got != tt.want {
				t.Fatalf("MaxResponseSize = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestChunkSize(t *testing.T) {
	tests := []struct {
		name string
		in   uint32
		want int
	}{
		{"zero means default", 0, DefaultCatalogChunk},
		{"one byte", 1, 1},
		{"as asked", 64 << 10, 64 << 10},
		{"at the cap", MaxCatalogChunk, MaxCatalogChunk},
		{"above the cap", MaxCatalogChunk + 1, MaxCatalogChunk},
		{"largest", math.MaxUint32, MaxCatalogChunk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ChunkSize(tt.in); got != tt.want {
				t.Fatalf("ChunkSize(%d) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}
