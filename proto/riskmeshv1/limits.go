package riskmeshv1

import (
	"encoding/binary"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/dleq"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Catalog download and error message bounds. They are protocol rules: a
// responder never sends more, and a requester rejects a frame that does.
const (
	// DefaultCatalogChunk is the data length per CatalogChunk when the
	// request's max_chunk is 0: 256 KiB, large enough that framing costs
	// nothing and small enough that a lost connection wastes little.
	DefaultCatalogChunk = 256 << 10
	// MaxCatalogChunk bounds CatalogChunk.data (1 MiB). A 10^7-item catalog
	// (about 225 MB) is about 225 maximal chunks.
	MaxCatalogChunk = 1 << 20
	// MaxErrorMessage bounds PeerError.message, in bytes.
	MaxErrorMessage = 1024
)

// Ledger relay bounds (LedgerInvoke, LedgerResult).
const (
	// MaxLedgerFunction bounds LedgerInvoke.function; contract function
	// names are far shorter.
	MaxLedgerFunction = 64
	// MaxLedgerArgument bounds LedgerInvoke.argument (1 MiB). The largest
	// argument a node sends is a full Record batch (chaincode.MaxBatch =
	// 1,000 entries of maximal transcript headers, under 1 MiB of JSON),
	// and the bound keeps a relayed call within MaxPeerRequestSize, so the
	// relay needs no larger request frames than catalog PSI.
	MaxLedgerArgument = 1 << 20
	// MaxLedgerResult bounds LedgerResult.result (16 MiB): room for the
	// registry of a large consortium (ListInstitutions is not paginated)
	// and for a page of chaincode.MaxPageSize entries.
	MaxLedgerResult = 16 << 20
)

// Live-mode payload bounds (docs/protocol/hepsi.md, "Served by the
// node"). They bound frames; psi/hepsi's decoders then check the exact
// sizes the announced parameters imply.
const (
	// MaxLiveParams bounds an encoded psi/hepsi Params: 8 ciphertext and 4
	// special primes at most, under 128 bytes; twice that.
	MaxLiveParams = 256
	// MaxLiveQuery bounds an encoded psi/hepsi Query (24 MiB): the largest
	// documented set (4,096 identifiers, 2,048-item bins) makes 17.3 MB.
	MaxLiveQuery = 24 << 20
	// MaxLiveAnswer bounds an encoded psi/hepsi Answer (24 MiB): the
	// documented sets answer in under 6 MB at their expected load.
	MaxLiveAnswer = 24 << 20
)

// Reconciliation bounds (ReconOpen, ReconStep).
const (
	// MaxReconChunk bounds a node reconciliation's chunk size, in points:
	// 16,384 (512 KiB of points), a quarter of ecdh.MaxChunkSize, so that a
	// ReconStep fits the request frame every responder reads.
	MaxReconChunk = 1 << 14
	// MaxReconList bounds ReconOpen.list, a list name.
	MaxReconList = 64
	// reconChunkBytes is the largest psi/ecdh chunk encoding of
	// MaxReconChunk points: header, sequence, count, points, proof.
	reconChunkBytes = ecdhMessageHeader + 4 + MaxReconChunk*ecdh.PointSize + dleq.ProofSize
)

// Sizes of the protobuf framing around a payload. Bounds below add them per
// field, so each is an upper bound on the protobuf encoding, not an estimate.
const (
	// lenField is the most a length-delimited field (bytes, string, message)
	// adds to its contents: a tag of at most 2 bytes (field numbers below
	// 2048) and a length varint of at most 5 bytes (lengths below 2^35).
	lenField = 2 + binary.MaxVarintLen32
	// varintField is the most an integer field takes: tag and a 10-byte
	// varint.
	varintField = 2 + binary.MaxVarintLen64
	// ecdhMessageHeader is the fixed part of a psi/ecdh message before its
	// first point vector: version(1) type(1) mode(1) session(32) count(4).
	ecdhMessageHeader = 3 + 32 + 4
	// ecdhVector is the points of one maximal psi/ecdh point vector; the
	// first vector's count is in ecdhMessageHeader, a Reply's second count
	// is added where it occurs.
	ecdhVector = ecdh.MaxSetSize * ecdh.PointSize
	// partyField, categoryField and digestField are the common fields.
	partyField    = lenField + transcript.MaxPartyLen
	categoryField = lenField + transcript.MaxCategoryLen
	digestField   = lenField + catalog.DigestSize
	headerField   = lenField + transcript.MaxHeaderSize
	sigField      = lenField + ecsig.MaxSignatureSize
)

// Largest encoding, in bytes, of a PeerRequest or PeerResponse frame holding
// each kind of body (the envelope included). Each is derived from the bounds
// of the payloads it carries, named in its comment.
const (
	// MaxCatalogInfoRequestSize: provider (transcript.MaxPartyLen),
	// category (transcript.MaxCategoryLen), period.
	MaxCatalogInfoRequestSize = lenField + partyField + categoryField + varintField
	// MaxCatalogDownloadRequestSize: as CatalogInfoRequest plus offset,
	// max_chunk, limit and a 32-byte expected digest.
	MaxCatalogDownloadRequestSize = lenField + partyField + categoryField + 4*varintField + digestField
	// MaxEvaluateRequestSize: a transcript header (transcript.MaxHeaderSize),
	// oprf.MaxBatch (65,535) blinded elements of oprf.ElementSize (32)
	// bytes, a signature (ecsig.MaxSignatureSize): about 2 MiB.
	MaxEvaluateRequestSize = lenField + headerField + lenField + oprf.MaxBatch*oprf.ElementSize + sigField
	// MaxECDHRequestSize: a transcript header, a psi/ecdh Request of
	// ecdh.MaxSetSize (2^22) points, a signature: about 128 MiB.
	MaxECDHRequestSize = lenField + headerField + lenField + ecdhMessageHeader + ecdhVector + sigField
	// MaxECDHReturnSize: a psi/ecdh Return of ecdh.MaxSetSize points.
	MaxECDHReturnSize = lenField + lenField + ecdhMessageHeader + ecdhVector
	// MaxLedgerInvokeSize: a function name (MaxLedgerFunction), the submit
	// flag and an argument (MaxLedgerArgument): about 1 MiB.
	MaxLedgerInvokeSize = lenField + lenField + MaxLedgerFunction + varintField + lenField + MaxLedgerArgument

	// MaxLiveInfoRequestSize: as CatalogInfoRequest.
	MaxLiveInfoRequestSize = MaxCatalogInfoRequestSize
	// MaxLiveQuerySize: a transcript header, a query of MaxLiveQuery
	// bytes, a signature: about 24 MiB.
	MaxLiveQuerySize = lenField + headerField + lenField + MaxLiveQuery + sigField
	// MaxLiveKeyUploadSize: as LiveInfoRequest plus an evaluation key of
	// at most MaxLiveQuery bytes (a query carrying it is no smaller).
	MaxLiveKeyUploadSize = MaxLiveInfoRequestSize + lenField + MaxLiveQuery
	// MaxReconOpenSize: a list name (MaxReconList), protocol, period,
	// sequence, requester size, chunk size.
	MaxReconOpenSize = lenField + lenField + MaxReconList + 5*varintField
	// MaxReconSignSize: period, sequence, a 32-byte key, a signature.
	MaxReconSignSize = lenField + 2*varintField + lenField + ecdh.PointSize + sigField
	// MaxReconStepSize: a header digest, seq, a chunk of MaxReconChunk
	// points with its proof, a record signature: about 512 KiB.
	MaxReconStepSize = lenField + digestField + varintField + lenField + reconChunkBytes + sigField

	// MaxRedeliverRequestSize: period, requester, sequence.
	MaxRedeliverRequestSize = lenField + 2*varintField + partyField
	// MaxCatalogInfoSize: provider, category, period, suite
	// (transcript.MaxSuiteLen), key id, item count, total length, digest.
	MaxCatalogInfoSize = lenField + partyField + categoryField + 3*varintField +
		lenField + transcript.MaxSuiteLen + lenField + transcript.KeyIDSize + digestField
	// MaxCatalogChunkSize: MaxCatalogChunk data bytes, offset, total length,
	// digest.
	MaxCatalogChunkSize = lenField + 2*varintField + lenField + MaxCatalogChunk + digestField
	// MaxEvaluateResponseSize: oprf.MaxBatch evaluated elements, a proof
	// (oprf.ProofSize, 64 bytes), a signature: about 2 MiB.
	MaxEvaluateResponseSize = lenField + lenField + oprf.MaxBatch*oprf.ElementSize +
		lenField + oprf.ProofSize + sigField
	// MaxECDHReplySize: a psi/ecdh Reply of two vectors of ecdh.MaxSetSize
	// points (4 more bytes for the second count), a signature: about
	// 256 MiB.
	MaxECDHReplySize = lenField + lenField + ecdhMessageHeader + 2*ecdhVector + 4 + sigField
	// MaxRedeliveredSize: one catalog-OPRF transcript file, which holds no
	// more than a full request and its answer (header, oprf.MaxBatch
	// elements each way, proof, two signatures) plus the file's own
	// framing, bounded here by the two frames' field overhead: about 4 MiB;
	// for a live exchange, its live step too (accounting/audit LiveStep:
	// three digests and two length-prefixed signatures).
	MaxRedeliveredSize = lenField + lenField + MaxEvaluateRequestSize + MaxEvaluateResponseSize +
		lenField + 3*catalog.DigestSize + 2*(1+ecsig.MaxSignatureSize)
	// MaxLiveInfoSize: provider, category, period, key id, parameters
	// (MaxLiveParams).
	MaxLiveInfoSize = lenField + partyField + categoryField + varintField +
		lenField + transcript.KeyIDSize + lenField + MaxLiveParams
	// MaxLiveAnswerSize: an answer of MaxLiveAnswer bytes, a signature.
	MaxLiveAnswerSize = lenField + lenField + MaxLiveAnswer + sigField
	// MaxLiveKeyStoredSize: a key digest.
	MaxLiveKeyStoredSize = lenField + digestField
	// MaxLedgerChangedSize: a version (a fixed64, within a varint
	// field's bound).
	MaxLedgerChangedSize = lenField + varintField
	// MaxReconOpenedSize: a reconciliation header
	// (transcript.MaxReconHeaderSize).
	MaxReconOpenedSize = lenField + lenField + transcript.MaxReconHeaderSize
	// MaxReconSignedSize: a signature.
	MaxReconSignedSize = lenField + sigField
	// MaxReconSteppedSize: a chunk of MaxReconChunk points with its proof
	// and a record signature.
	MaxReconSteppedSize = lenField + lenField + reconChunkBytes + sigField
	// MaxECDHDoneSize: the empty acknowledgement.
	MaxECDHDoneSize = lenField
	// MaxLedgerResultSize: a result of MaxLedgerResult bytes.
	MaxLedgerResultSize = lenField + lenField + MaxLedgerResult
	// MaxPeerErrorSize: code, MaxErrorMessage bytes of message,
	// retry_after_ms, max_items, element_index.
	MaxPeerErrorSize = lenField + 4*varintField + lenField + MaxErrorMessage
)

// Frame bounds for a reader that does not know yet what a frame holds.
const (
	// MaxPeerRequestSize bounds the first frame of a stream for a responder
	// that does not serve ECDH-PSI: the largest catalog-PSI request or
	// relayed ledger call. A responder that serves ECDH-PSI reads up to
	// MaxECDHRequestSize, or a lower bound derived from the set sizes it is
	// willing to reconcile.
	MaxPeerRequestSize = max(MaxCatalogInfoRequestSize, MaxCatalogDownloadRequestSize, MaxEvaluateRequestSize,
		MaxLedgerInvokeSize, MaxReconOpenSize, MaxReconSignSize, MaxReconStepSize)
)

// MaxResponseSize returns the largest PeerResponse frame a requester accepts
// in answer to req: the expected body or a PeerError, whichever is larger.
// For a catalog download it uses the chunk size the request asked for, so a
// requester that asks for small chunks also bounds what it buffers. It
// returns 0 for a request with no body, which has no valid answer.
func MaxResponseSize(req *PeerRequest) int {
	var n int
	switch b := req.GetBody().(type) {
	case *PeerRequest_CatalogInfo:
		n = MaxCatalogInfoSize
	case *PeerRequest_CatalogDownload:
		n = MaxCatalogChunkSize - MaxCatalogChunk + ChunkSize(b.CatalogDownload.GetMaxChunk())
	case *PeerRequest_Evaluate:
		n = MaxEvaluateResponseSize
	case *PeerRequest_Ecdh:
		n = MaxECDHReplySize
	case *PeerRequest_EcdhReturn:
		n = MaxECDHDoneSize
	case *PeerRequest_LedgerInvoke:
		n = MaxLedgerResultSize
	case *PeerRequest_Redeliver:
		n = MaxRedeliveredSize
	case *PeerRequest_LiveInfo:
		n = MaxLiveInfoSize
	case *PeerRequest_LiveQuery:
		n = MaxLiveAnswerSize
	case *PeerRequest_LiveKey:
		n = MaxLiveKeyStoredSize
	case *PeerRequest_LedgerWatch:
		n = MaxLedgerChangedSize
	case *PeerRequest_ReconOpen:
		n = MaxReconOpenedSize
	case *PeerRequest_ReconSign:
		n = MaxReconSignedSize
	case *PeerRequest_ReconStep:
		n = MaxReconSteppedSize
	default:
		return 0
	}
	return max(n, MaxPeerErrorSize)
}

// ChunkSize returns the data length per CatalogChunk a responder sends for a
// requested max_chunk: DefaultCatalogChunk for 0, at most MaxCatalogChunk.
func ChunkSize(maxChunk uint32) int {
	switch {
	case maxChunk == 0:
		return DefaultCatalogChunk
	case maxChunk > MaxCatalogChunk:
		return MaxCatalogChunk
	default:
		return int(maxChunk)
	}
}
