package transcript

import (
	"fmt"

	"github.com/riskmesh/riskmesh/psi/oprf"
)

// Protocol names the PSI protocol a transcript records. The numeric values
// are wire values: they are encoded in headers that are signed and stored on
// the ledger, so they never change and are never reused.
type Protocol uint8

const (
	// ProtocolCatalogOPRF is catalog PSI: the requester's blinded elements are
	// evaluated by the provider's POPRF key with one batched DLEQ proof.
	ProtocolCatalogOPRF Protocol = 1
	// ProtocolECDHRequesterLearns is ECDH-PSI where only the requester learns
	// the intersection.
	ProtocolECDHRequesterLearns Protocol = 2
	// ProtocolECDHBothLearn is ECDH-PSI where both parties learn it.
	ProtocolECDHBothLearn Protocol = 3
	// ProtocolLiveHE is live mode: homomorphic labeled PSI whose items first
	// go through the provider's verified POPRF, so it is bounded like the
	// catalog OPRF.
	ProtocolLiveHE Protocol = 4
)

// Valid reports whether p is one of the defined protocols.
func (p Protocol) Valid() bool {
	return p >= ProtocolCatalogOPRF && p <= ProtocolLiveHE
}

// IsECDH reports whether p is one of the ECDH-PSI variants.
func (p Protocol) IsECDH() bool {
	return p == ProtocolECDHRequesterLearns || p == ProtocolECDHBothLearn
}

// MaxItems is the largest element count of one exchange of protocol p:
// MaxItems for the catalog OPRF and live mode, MaxECDHItems for ECDH-PSI.
func (p Protocol) MaxItems() int {
	if p.IsECDH() {
		return MaxECDHItems
	}
	return MaxItems
}

func (p Protocol) String() string {
	switch p {
	case ProtocolCatalogOPRF:
		return "catalog-oprf"
	case ProtocolECDHRequesterLearns:
		return "ecdh-requester-learns"
	case ProtocolECDHBothLearn:
		return "ecdh-both-learn"
	case ProtocolLiveHE:
		return "live-he"
	}
	return fmt.Sprintf("protocol(%d)", uint8(p))
}

// ProofRule is the rule a catalog-OPRF transcript's batched DLEQ proof
// follows: psi/oprf's rule itself (docs/protocol/oprf.md), carried as the
// header's version, so old transcripts keep their bytes and digests and
// are audited under the rule they were made with.
type ProofRule = oprf.ProofRule

const (
	// ProofBinding128 (header version 3): the composite weights hash the
	// whole batch and are 128 bits. Requesters ask for it in every new
	// catalog and live exchange.
	ProofBinding128 = oprf.ProofBinding128
	// ProofBinding (header version 2, the zero value): the composite
	// weights hash the whole batch and are full-size scalars. Providers
	// still answer it, so that a consortium upgrades node by node
	// (docs/protocol/oprf.md).
	ProofBinding = oprf.ProofBinding
	// ProofRFC9497 (header version 1): RFC 9497's composite rule, whose
	// weights depend on each item alone. Transcripts made before
	// ProofBinding carry it; auditors still check them under it.
	ProofRFC9497 = oprf.ProofRFC9497
)

// headerVersion is the header version that encodes r; r must be valid.
func headerVersion(r ProofRule) uint8 {
	switch r {
	case ProofRFC9497:
		return HeaderVersionRFC9497
	case ProofBinding128:
		return HeaderVersion
	}
	return HeaderVersionBinding
}

// ruleOfVersion is headerVersion's inverse.
func ruleOfVersion(v uint8) (ProofRule, bool) {
	switch v {
	case HeaderVersion:
		return ProofBinding128, true
	case HeaderVersionBinding:
		return ProofBinding, true
	case HeaderVersionRFC9497:
		return ProofRFC9497, true
	}
	return 0, false
}

// Suite names a group and hash combination. Its name is carried in the header;
// the table below fixes the element and scalar sizes that parsers enforce, so
// adding a suite is a format change made here, in one place.
type Suite struct {
	Name        string
	ElementSize int // bytes of one serialised group element
	ScalarSize  int // bytes of one serialised scalar
}

// Suite names. The OPRF names are RFC 9497's identifiers; the ECDH-PSI suites
// reuse the group names so the same element sizes apply.
const (
	SuiteRistretto255SHA512 = "ristretto255-SHA512"
	SuiteP256SHA256         = "P256-SHA256"
	SuiteEdwards25519SHA512 = "edwards25519-SHA512"
)

var suites = [...]Suite{
	{Name: SuiteRistretto255SHA512, ElementSize: 32, ScalarSize: 32},
	{Name: SuiteP256SHA256, ElementSize: 33, ScalarSize: 32},
	{Name: SuiteEdwards25519SHA512, ElementSize: 32, ScalarSize: 32},
}

// LookupSuite returns the sizes of a known suite.
func LookupSuite(name string) (Suite, error) {
	for _, s := range suites {
		if s.Name == name {
			return s, nil
		}
	}
	return Suite{}, ErrSuite
}

// ProofSize is the exact proof length a response of protocol p in suite s
// carries: a DLEQ proof (two scalars, RFC 9497 section 2.2) for the catalog
// OPRF and for live mode's POPRF step, nothing for ECDH-PSI.
func (s Suite) ProofSize(p Protocol) int {
	if p == ProtocolCatalogOPRF || p == ProtocolLiveHE {
		return 2 * s.ScalarSize
	}
	return 0
}
