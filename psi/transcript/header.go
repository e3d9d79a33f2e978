package transcript

import (
	"fmt"
	"github.com/riskmesh/riskmesh/internal/names"

	"golang.org/x/crypto/cryptobyte"
)

// Format limits. They are part of the format: a parser rejects anything
// beyond them before allocating.
const (
	// HeaderVersion is the header format version of new transcripts: its
	// catalog-OPRF or live POPRF proof follows ProofBinding128.
	// HeaderVersionBinding is the version of transcripts whose proofs
	// follow ProofBinding (full-size weights), which providers still
	// answer while requesters upgrade, and HeaderVersionRFC9497 that of
	// transcripts made before either, whose proofs follow RFC 9497's rule;
	// both are still parsed and re-encoded so that they can be audited. All
	// versions have the same layout.
	HeaderVersion        = 3
	HeaderVersionBinding = 2
	HeaderVersionRFC9497 = 1
	// MaxItems bounds the elements of one catalog-OPRF request: the OPRF's
	// batched DLEQ proof covers at most this many, and larger batches are
	// split into several exchanges.
	MaxItems = 65535
	// MaxECDHItems bounds each element vector of an ECDH-PSI exchange (the
	// requester's set and the responder's own set). ECDH-PSI reconciles
	// whole lists and has no batched proof, so its bound is psi/ecdh's
	// MaxSetSize (2^22): 128 MiB of ristretto255 elements per vector.
	MaxECDHItems = 1 << 22
	// MaxSuiteLen, MaxCategoryLen and MaxPartyLen bound the header strings.
	MaxSuiteLen    = 32
	MaxCategoryLen = names.MaxCategoryLen
	MaxPartyLen    = names.MaxMSPIDLen
	// KeyIDSize is the length of the provider key id.
	KeyIDSize = 32
	// MaxHeaderSize bounds an encoded header.
	MaxHeaderSize = 2 + 4 + MaxSuiteLen + MaxCategoryLen + 2*MaxPartyLen + 8 + 8 + 4 + KeyIDSize
)

// Header says who asked whom for what. It is the part of a transcript the
// ledger sees: the chaincode bills Count items of Category in Period from
// Requester to Responder, keyed by Sequence.
type Header struct {
	// ProofRule says which rule the catalog-OPRF answer's batched proof
	// follows; it is encoded as the header's version. New catalog and live
	// exchanges set ProofBinding128; the zero value, ProofBinding, is
	// version 2, which ECDH-PSI headers (no OPRF proof) keep. The requester
	// signs it with the header, so a provider cannot answer under another
	// rule.
	ProofRule ProofRule
	Protocol  Protocol
	// Suite is a name LookupSuite knows, e.g. SuiteRistretto255SHA512.
	Suite string
	// Category is the list category ("black", "grey", ...): 1 to
	// MaxCategoryLen bytes of [A-Za-z0-9._-]. The set of categories is the
	// consortium's, not this package's; the character set keeps it safe to
	// embed in the POPRF info string "riskmesh/v1|<category>|<period>".
	Category string
	// Period is the accounting period the exchange is billed in.
	Period uint64
	// Requester and Responder are Fabric MSP ids: 1 to MaxPartyLen bytes of
	// printable ASCII without spaces. They must differ.
	Requester string
	Responder string
	// Sequence is chosen by the requester, unique per period and
	// (requester, responder) pair; the ledger rejects replays.
	Sequence uint64
	// Count is the number of request elements, 1 to Protocol.MaxItems().
	Count uint32
	// KeyID identifies the responder key the request was made against (for
	// the catalog OPRF, the key registered on the ledger). The package does
	// not interpret it.
	KeyID [KeyIDSize]byte
}

// Validate checks every header field against the format's rules.
func (h *Header) Validate() error {
	if !h.ProofRule.Valid() {
		return fmt.Errorf("%w: proof rule %d", ErrVersion, uint8(h.ProofRule))
	}
	if !h.Protocol.Valid() {
		return fmt.Errorf("%w: %d", ErrProtocol, uint8(h.Protocol))
	}
	if len(h.Suite) > MaxSuiteLen {
		return ErrSuite
	}
	if _, err := LookupSuite(h.Suite); err != nil {
		return err
	}
	if err := validateParties(h.Category, h.Requester, h.Responder); err != nil {
		return err
	}
	if h.Count == 0 || int64(h.Count) > int64(h.Protocol.MaxItems()) {
		return fmt.Errorf("%w: %d", ErrCount, h.Count)
	}
	return nil
}

// validateParties checks the category and the two distinct parties every
// header names.
func validateParties(category, requester, responder string) error {
	switch {
	case !names.Category(category):
		return ErrCategory
	case !names.MSPID(requester) || !names.MSPID(responder):
		return ErrParty
	case requester == responder:
		return ErrSameParty
	}
	return nil
}

// suite returns the sizes of h's suite; h must be valid.
func (h *Header) suite() Suite {
	s, _ := LookupSuite(h.Suite)
	return s
}

// MarshalBinary returns the canonical encoding of a valid header:
//
//	uint8  version (3 for ProofBinding128, 2 for ProofBinding, 1 for ProofRFC9497)
//	uint8  protocol
//	uint8  length, suite
//	uint8  length, category
//	uint64 period
//	uint8  length, requester
//	uint8  length, responder
//	uint64 sequence
//	uint32 count
//	[32]   key id
//
// all integers big-endian. The encoding is self-delimiting.
func (h *Header) MarshalBinary() ([]byte, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	b := cryptobyte.NewFixedBuilder(make([]byte, 0, h.encodedLen()))
	h.marshal(b)
	return b.Bytes()
}

func (h *Header) encodedLen() int {
	return 2 + 4 + len(h.Suite) + len(h.Category) + len(h.Requester) + len(h.Responder) + 8 + 8 + 4 + KeyIDSize
}

func (h *Header) marshal(b *cryptobyte.Builder) {
	b.AddUint8(headerVersion(h.ProofRule))
	b.AddUint8(uint8(h.Protocol))
	addString8(b, h.Suite)
	addString8(b, h.Category)
	b.AddUint64(h.Period)
	addString8(b, h.Requester)
	addString8(b, h.Responder)
	b.AddUint64(h.Sequence)
	b.AddUint32(h.Count)
	b.AddBytes(h.KeyID[:])
}

func addString8(b *cryptobyte.Builder, s string) {
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
}

// ParseHeader parses a header encoded by MarshalBinary. It rejects unknown
// versions, invalid fields and trailing bytes.
func ParseHeader(data []byte) (*Header, error) {
	if len(data) > MaxHeaderSize {
		return nil, fmt.Errorf("%w: header of %d bytes", ErrMalformed, len(data))
	}
	s := cryptobyte.String(data)
	h, err := parseHeader(&s)
	if err != nil {
		return nil, err
	}
	if !s.Empty() {
		return nil, ErrTrailingData
	}
	return h, nil
}

// parseHeader reads one header from s and validates it.
func parseHeader(s *cryptobyte.String) (*Header, error) {
	var version, protocol uint8
	if !s.ReadUint8(&version) {
		return nil, ErrMalformed
	}
	rule, ok := ruleOfVersion(version)
	if !ok {
		return nil, fmt.Errorf("%w: header version %d", ErrVersion, version)
	}
	if !s.ReadUint8(&protocol) {
		return nil, ErrMalformed
	}
	if !Protocol(protocol).Valid() {
		return nil, fmt.Errorf("%w: %d", ErrProtocol, protocol)
	}
	h := &Header{ProofRule: rule, Protocol: Protocol(protocol)}
	var suite, category, requester, responder cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&suite) ||
		!s.ReadUint8LengthPrefixed(&category) ||
		!s.ReadUint64(&h.Period) ||
		!s.ReadUint8LengthPrefixed(&requester) ||
		!s.ReadUint8LengthPrefixed(&responder) ||
		!s.ReadUint64(&h.Sequence) ||
		!s.ReadUint32(&h.Count) ||
		!s.CopyBytes(h.KeyID[:]) {
		return nil, ErrMalformed
	}
	h.Suite, h.Category = string(suite), string(category)
	h.Requester, h.Responder = string(requester), string(responder)
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return h, nil
}
