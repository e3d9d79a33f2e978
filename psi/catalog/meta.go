package catalog

import (
	"fmt"
	"github.com/riskmesh/riskmesh/internal/names"
)

// Limits on the metadata strings. They are part of the format.
const (
	// MaxSuiteLen bounds the OPRF suite name (RFC 9497 identifiers such as
	// "ristretto255-SHA512" are under 20 bytes).
	MaxSuiteLen = 32
	// MaxProviderLen bounds the provider's MSP id (the consortium's rule).
	MaxProviderLen = names.MaxMSPIDLen
	// MaxCategoryLen bounds the category name (the consortium's rule).
	MaxCategoryLen = names.MaxCategoryLen
	// KeyIDSize is the size of the OPRF key id.
	KeyIDSize = 32
)

// Meta says whose catalog this is and for what: the requester checks every
// field against the ledger (provider registered, key id current, category
// and period the ones asked for) before trusting a lookup's answer. All of
// it is bound into the digest.
type Meta struct {
	// Suite is the OPRF suite whose outputs were catalogued, e.g.
	// "ristretto255-SHA512": 1 to MaxSuiteLen bytes of printable ASCII
	// without spaces. The package does not interpret it.
	Suite string
	// Provider is the provider's Fabric MSP id: 1 to MaxProviderLen bytes of
	// [A-Za-z0-9._-], as the ledger requires.
	Provider string
	// Category is the list category name, as in the POPRF info string
	// "riskmesh/v1|<category>|<period>": 1 to MaxCategoryLen bytes of
	// [A-Za-z0-9._-].
	Category string
	// Period is the accounting period the PRF outputs were evaluated for.
	Period uint64
	// KeyID identifies the provider's OPRF key as registered on the ledger.
	KeyID [KeyIDSize]byte
}

// Validate checks every field against the format's rules.
func (m *Meta) Validate() error {
	if !names.Word(m.Suite, MaxSuiteLen) {
		return fmt.Errorf("%w: suite %q", ErrMeta, m.Suite)
	}
	if !names.MSPID(m.Provider) {
		return fmt.Errorf("%w: provider %q", ErrMeta, m.Provider)
	}
	if !names.Category(m.Category) {
		return fmt.Errorf("%w: category %q", ErrMeta, m.Category)
	}
	return nil
}

// printable reports whether s is 1 to max bytes of ASCII '!'..'~'.
