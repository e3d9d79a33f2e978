package catalog

import "fmt"

// Limits on the metadata strings. They are part of the format.
const (
	// MaxSuiteLen bounds the OPRF suite name (RFC 9497 identifiers such as
	// "ristretto255-SHA512" are under 20 bytes).
	MaxSuiteLen = 32
	// MaxProviderLen bounds the provider's MSP id.
	MaxProviderLen = 128
	// MaxCategoryLen bounds the category name.
	MaxCategoryLen = 64
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
	// printable ASCII without spaces.
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
	if !printable(m.Suite, MaxSuiteLen) {
		return fmt.Errorf("%w: suite %q", ErrMeta, m.Suite)
	}
	if !printable(m.Provider, MaxProviderLen) {
		return fmt.Errorf("%w: provider %q", ErrMeta, m.Provider)
	}
	if !validCategory(m.Category) {
		return fmt.Errorf("%w: category %q", ErrMeta, m.Category)
	}
	return nil
}

// printable reports whether s is 1 to max bytes of ASCII '!'..'~'.
func printable(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func validCategory(s string) bool {
	if len(s) == 0 || len(s) > MaxCategoryLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}
