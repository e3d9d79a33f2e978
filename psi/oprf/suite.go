package oprf

import (
	"crypto/sha512"
	"encoding/binary"

	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/internal/xmd"
)

// Suite and sizes (RFC 9497 section 4.1, ristretto255-SHA512).
const (
	// SuiteID is the RFC 9497 identifier of the only suite this package
	// implements.
	SuiteID = "ristretto255-SHA512"
	// ElementSize is Ne, the size of an encoded group element.
	ElementSize = 32
	// ScalarSize is Ns, the size of an encoded scalar.
	ScalarSize = 32
	// ProofSize is the size of an encoded proof: the scalars c and s.
	ProofSize = 2 * ScalarSize
	// OutputSize is Nh, the size of a PRF output (SHA-512).
	OutputSize = 64
	// SeedSize is the size of a DeriveKey seed.
	SeedSize = 32
	// MaxBatch bounds one batch: the proof's composite hash encodes each
	// element's index with I2OSP(i, 2). Callers split larger batches.
	MaxBatch = 65535
	// MaxInputLen and MaxInfoLen are the RFC's length-prefix bounds
	// (I2OSP(len, 2)).
	MaxInputLen = 65535
	MaxInfoLen  = 65535
)

// RFC 9497 mode identifiers. The public API is POPRF only; the other modes
// exist so the same core functions can be checked against every published
// vector of the suite.
const (
	modeOPRF  byte = 0x00
	modeVOPRF byte = 0x01
	modePOPRF byte = 0x02
)

// Domain-separation labels of RFC 9497 section 3 and 2.2.
const (
	labelVersion       = "OPRFV1-"
	labelHashToGroup   = "HashToGroup-"
	labelHashToScalar  = "HashToScalar-"
	labelDeriveKeyPair = "DeriveKeyPair"
	labelSeed          = "Seed-"
	labelInfo          = "Info"
	labelComposite     = "Composite"
	labelChallenge     = "Challenge"
	labelFinalize      = "Finalize"
)

// RiskMesh's own domain-separation labels, for the binding proof rules
// (rule.go) and their hedged nonce. Each carries a version: a change of either
// construction is a new label, never a new meaning for an old one.
const (
	labelBatchSeed    = "RiskMesh-BatchSeed-V1-"
	labelBatchSeed128 = "RiskMesh-BatchSeed128-V1-"
	labelWeights128   = "RiskMesh-Weights128-V1-"
	labelProofNonce   = "RiskMesh-ProofNonce-V1-"
)

// params holds the mode-dependent context string and hashers. Expanders are
// stateless, so one params value is shared by every goroutine.
type params struct {
	mode            byte
	hashToGroupX    *xmd.Expander
	hashToScalar    *xmd.Expander
	deriveKeyX      *xmd.Expander
	nonceX          *xmd.Expander
	seedDST         []byte
	batchSeedDST    []byte
	batchSeed128DST []byte
	weightsDST      []byte
}

func newParams(mode byte) *params {
	ctx := labelVersion + string([]byte{mode}) + "-" + SuiteID
	return &params{
		mode:            mode,
		hashToGroupX:    xmd.New([]byte(labelHashToGroup + ctx)),
		hashToScalar:    xmd.New([]byte(labelHashToScalar + ctx)),
		deriveKeyX:      xmd.New([]byte(labelDeriveKeyPair + ctx)),
		nonceX:          xmd.New([]byte(labelProofNonce + ctx)),
		seedDST:         []byte(labelSeed + ctx),
		batchSeedDST:    []byte(labelBatchSeed + ctx),
		batchSeed128DST: []byte(labelBatchSeed128 + ctx),
		weightsDST:      []byte(labelWeights128 + ctx),
	}
}

var (
	poprf = newParams(modePOPRF)
	voprf = newParams(modeVOPRF)
	oprf  = newParams(modeOPRF)
)

// hashToGroup is RFC 9497 HashToGroup: expand_message_xmd to 64 bytes, then
// the ristretto255 one-way map (RFC 9496 section 4.3.4).
func (p *params) hashToGroup(dst *ristretto255.Element, input []byte) {
	var u [xmd.Size]byte
	p.hashToGroupX.Expand(&u, input)
	// 64 bytes is exactly the length SetUniformBytes wants.
	_, _ = dst.SetUniformBytes(u[:])
}

// hashToScalarWith is HashToScalar under the expander x: 64 uniform bytes
// reduced modulo the group order.
func hashToScalarWith(x *xmd.Expander, dst *ristretto255.Scalar, msg []byte) {
	var u [xmd.Size]byte
	x.Expand(&u, msg)
	_, _ = dst.SetUniformBytes(u[:])
}

// appendLenPrefixed appends I2OSP(len(b), 2) || b; callers have bounded b.
func appendLenPrefixed(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(b)))
	return append(dst, b...)
}

// infoScalar is m = HashToScalar("Info" || I2OSP(len(info), 2) || info).
func (p *params) infoScalar(info []byte) (ristretto255.Scalar, error) {
	var m ristretto255.Scalar
	if len(info) > MaxInfoLen {
		return m, ErrInfoTooLong
	}
	framed := appendLenPrefixed([]byte(labelInfo), info)
	hashToScalarWith(p.hashToScalar, &m, framed)
	return m, nil
}

// compositeSeed is RFC 9497's seed of ComputeComposites for the proof's B
// element: Hash(I2OSP(len(Bm), 2) || Bm || I2OSP(len(seedDST), 2) ||
// seedDST). It depends only on B, so evaluators and clients compute it once
// per key/info; the binding rule hashes the batch on top (batchSeed).
func (p *params) compositeSeed(b *[ElementSize]byte) [sha512.Size]byte {
	buf := make([]byte, 0, 2+ElementSize+2+len(p.seedDST))
	buf = appendLenPrefixed(buf, b[:])
	buf = appendLenPrefixed(buf, p.seedDST)
	return sha512.Sum512(buf)
}

// finalizeHash is the PRF output: Hash(I2OSP(len(input), 2) || input ||
// [I2OSP(len(info), 2) || info, POPRF only] || I2OSP(32, 2) || element ||
// "Finalize"). buf is the caller's scratch, returned grown for reuse.
func (p *params) finalizeHash(out *[OutputSize]byte, buf, input, info []byte, element *[ElementSize]byte) []byte {
	buf = appendLenPrefixed(buf[:0], input)
	if p.mode == modePOPRF {
		buf = appendLenPrefixed(buf, info)
	}
	buf = appendLenPrefixed(buf, element[:])
	buf = append(buf, labelFinalize...)
	*out = sha512.Sum512(buf)
	return buf
}

// isZero32 reports whether b is all zeros: the canonical encoding of the
// identity element, which RFC 9497 DeserializeElement rejects.
func isZero32(b []byte) bool {
	var acc byte
	for _, x := range b {
		acc |= x
	}
	return acc == 0
}
