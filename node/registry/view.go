package registry

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
)

// View is one immutable snapshot of the ledger's registry as this node last
// saw it. Its exported fields and everything its methods return are copies
// or must be treated as read-only: a View is shared by every goroutine of the
// node.
type View struct {
	// Period is the current period; Number 0 means none has been opened yet.
	Period accounting.Period
	// PriceList is the current period's prices per category and mode
	// (captured when it opened): Prices the catalog ones, ModePrices the
	// others. Before the first period they are the consortium's list
	// prices, which the first period will capture.
	accounting.PriceList
	// AsOf is when this view was fetched from the ledger (zero before the
	// first successful refresh).
	AsOf time.Time

	institutions []accounting.Institution // sorted by MSP id
	byMSP        map[string]int           // index into institutions
	byTLS        map[[32]byte]int         // index into institutions, or ambiguousTLS
	accounts     map[string]accounting.Account
	conflicts    []Conflict
}

// ambiguousTLS marks in byTLS a fingerprint more than one institution
// registered.
const ambiguousTLS = -1

// emptyView is the view before the first successful refresh.
func emptyView() *View {
	return &View{
		PriceList: accounting.PriceList{Prices: map[string]int64{}},
		byMSP:     map[string]int{},
		byTLS:     map[[32]byte]int{},
		accounts:  map[string]accounting.Account{},
	}
}

// newView indexes what one refresh fetched, trusting no one with a
// credential several institutions claim (Conflict). It takes ownership of
// its arguments.
func newView(insts []accounting.Institution, accounts []accounting.Account, period accounting.Period, prices accounting.PriceList, asOf time.Time) *View {
	slices.SortFunc(insts, func(a, b accounting.Institution) int { return strings.Compare(a.MSPID, b.MSPID) })
	sharedTLS, conflicts := resolveShared(insts)
	v := &View{
		Period:       period,
		PriceList:    prices,
		AsOf:         asOf,
		institutions: insts,
		byMSP:        make(map[string]int, len(insts)),
		byTLS:        make(map[[32]byte]int, len(insts)),
		accounts:     make(map[string]accounting.Account, len(accounts)),
		conflicts:    conflicts,
	}
	if v.Prices == nil {
		v.Prices = map[string]int64{}
	}
	for i, inst := range insts {
		v.byMSP[inst.MSPID] = i
		switch {
		case len(inst.TLSFingerprint) != 32:
		case sharedTLS[string(inst.TLSFingerprint)]:
			v.byTLS[[32]byte(inst.TLSFingerprint)] = ambiguousTLS
		default:
			v.byTLS[[32]byte(inst.TLSFingerprint)] = i
		}
	}
	for _, a := range accounts {
		v.accounts[a.MSPID] = a
	}
	return v
}

// Institution returns the registry record of msp.
func (v *View) Institution(msp string) (accounting.Institution, bool) {
	i, ok := v.byMSP[msp]
	if !ok {
		return accounting.Institution{}, false
	}
	return cloneInstitution(v.institutions[i]), true
}

// Institutions returns every registered institution, sorted by MSP id.
func (v *View) Institutions() []accounting.Institution {
	out := make([]accounting.Institution, len(v.institutions))
	for i, inst := range v.institutions {
		out[i] = cloneInstitution(inst)
	}
	return out
}

// Account returns msp's balance, overdraft limit and flag.
func (v *View) Account(msp string) (accounting.Account, bool) {
	a, ok := v.accounts[msp]
	return a, ok
}

// Providers returns the institutions a requester can query for category:
// active, holding the provider role, with an OPRF key registered for the
// category and an endpoint set. They are sorted by MSP id.
func (v *View) Providers(category string) []accounting.Institution {
	var out []accounting.Institution
	for _, inst := range v.institutions {
		if inst.Status == accounting.StatusActive && inst.HasRole(accounting.RoleProvider) &&
			len(inst.OPRFKeys[category]) > 0 && inst.Endpoint != "" {
			out = append(out, cloneInstitution(inst))
		}
	}
	return out
}

// Conflicts returns the credentials more than one institution holds, which
// this view trusts no one with.
func (v *View) Conflicts() []Conflict {
	out := slices.Clone(v.conflicts)
	for i := range out {
		out[i].MSPIDs = slices.Clone(out[i].MSPIDs)
	}
	return out
}

// byFingerprint returns the institution whose TLS certificate has
// fingerprint fp: ErrUnknownPeer if none has, ErrAmbiguous if more than
// one has.
func (v *View) byFingerprint(fp [32]byte) (accounting.Institution, error) {
	i, ok := v.byTLS[fp]
	switch {
	case !ok:
		return accounting.Institution{}, ErrUnknownPeer
	case i == ambiguousTLS:
		return accounting.Institution{}, ErrAmbiguous
	}
	return v.institutions[i], nil
}

// sameAs reports whether v and w hold the same registry, accounts, period
// and prices, ignoring AsOf and the settlement progress of the period.
func (v *View) sameAs(w *View) bool {
	return v.Period.Number == w.Period.Number && v.Period.State == w.Period.State &&
		v.Period.PriceList.Equal(&w.Period.PriceList) && v.PriceList.Equal(&w.PriceList) &&
		slices.EqualFunc(v.institutions, w.institutions, sameInstitution) &&
		maps.Equal(v.accounts, w.accounts)
}

func sameInstitution(a, b accounting.Institution) bool {
	return a.MSPID == b.MSPID && a.Name == b.Name && a.Status == b.Status &&
		slices.Equal(a.Roles, b.Roles) && a.Endpoint == b.Endpoint &&
		bytes.Equal(a.TLSFingerprint, b.TLSFingerprint) && bytes.Equal(a.SigningKey, b.SigningKey) &&
		a.SigningKeyFrom == b.SigningKeyFrom && slices.EqualFunc(a.PastSigningKeys, b.PastSigningKeys, sameKeyVersion) &&
		maps.EqualFunc(a.OPRFKeys, b.OPRFKeys, bytes.Equal)
}

func sameKeyVersion(a, b accounting.KeyVersion) bool {
	return bytes.Equal(a.Key, b.Key) && a.From == b.From && a.Until == b.Until
}

// cloneInstitution copies inst deeply, so a caller cannot change a shared
// view through the record it was given.
func cloneInstitution(inst accounting.Institution) accounting.Institution {
	inst.Roles = slices.Clone(inst.Roles)
	inst.TLSFingerprint = bytes.Clone(inst.TLSFingerprint)
	inst.SigningKey = bytes.Clone(inst.SigningKey)
	inst.PastSigningKeys = slices.Clone(inst.PastSigningKeys)
	for i := range inst.PastSigningKeys {
		inst.PastSigningKeys[i].Key = bytes.Clone(inst.PastSigningKeys[i].Key)
	}
	if inst.OPRFKeys != nil {
		keys := make(map[string][]byte, len(inst.OPRFKeys))
		for c, k := range inst.OPRFKeys {
			keys[c] = bytes.Clone(k)
		}
		inst.OPRFKeys = keys
	}
	return inst
}
