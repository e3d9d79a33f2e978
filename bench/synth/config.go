package synth

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// Bounds on a Config, so that a typo cannot ask for more memory than a test
// machine has (each entry takes about 100 bytes while generated).
const (
	MaxEntries      = 20_000_000
	MaxInstitutions = 64
)

// Defaults of Config and Institution.
const (
	DefaultEntries = 1_000_000
	DefaultOverlap = 0.1
)

// Config describes a consortium's lists. The zero value generates the
// default: 1,000,000 entries over three institutions with 10% overlap.
type Config struct {
	// Seed selects the data set: the same Seed and Config give the same
	// lists with the same Go release (math/rand/v2's algorithms may change
	// between releases).
	Seed uint64
	// Institutions hold the lists. Default: DefaultInstitutions.
	Institutions []Institution
	// Entries is the number of entries over all lists, 1 to MaxEntries.
	// Default DefaultEntries.
	Entries int
	// Overlap is the fraction of entries (0 to 1) whose identifier is also
	// on at least one other institution's list. Default DefaultOverlap;
	// negative means none. One institution alone has no overlap.
	Overlap float64
	// Types weighs the identifier types. Default phone 40, idcard 25, card
	// 20, email 10, device 5.
	Types map[ident.Type]int
	// From and To bound the listed dates, inclusive. Default 2021-01-01 to
	// 2025-12-31 (fixed dates, not the clock, so runs are repeatable).
	From, To catalog.Date
}

// Institution is one list holder.
type Institution struct {
	// MSPID names the institution; required and unique.
	MSPID string
	// Weight is the list's size relative to the others. Default 1.
	Weight int
	// Categories weighs the categories the institution lists. Default
	// black 2, grey 5, yellow 3. An institution lists no category that is
	// absent here.
	Categories map[Category]int
	// FalsePositives is the fraction (0 to 1) of the institution's entries
	// that are planted false positives: listings of identifiers that
	// deserve none, which a requester's business finds wrong once it acts
	// on them (Hit.False). They are taken among the entries no other list
	// holds, so an identifier is either rightly listed everywhere it is
	// listed or falsely listed by this institution alone. Default 0.
	FalsePositives float64
}

// DefaultInstitutions returns the institutions of the zero Config: a large
// bank, a smaller one and a consumer lender, with lists in the ratio 5:3:2
// and category mixes of their own (the lender black-lists least and
// watches most).
func DefaultInstitutions() []Institution {
	return []Institution{
		{MSPID: "Bank1MSP", Weight: 5, Categories: map[Category]int{Black: 2, Grey: 5, Yellow: 3}},
		{MSPID: "Bank2MSP", Weight: 3, Categories: map[Category]int{Black: 3, Grey: 4, Yellow: 3}},
		{MSPID: "Lender3MSP", Weight: 2, Categories: map[Category]int{Black: 1, Grey: 4, Yellow: 5}},
	}
}

var (
	defaultTypes      = map[ident.Type]int{ident.Phone: 40, ident.IDCard: 25, ident.Card: 20, ident.Email: 10, ident.Device: 5}
	defaultCategories = map[Category]int{Black: 2, Grey: 5, Yellow: 3}
	defaultFrom       = civil(2021, 1, 1)
	defaultTo         = civil(2025, 12, 31)
)

// civil returns the catalog date of y-m-d.
func civil(y int, m time.Month, d int) catalog.Date {
	return catalog.Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / (24 * 60 * 60))
}

// plan is a validated Config with the defaults filled in and the weights
// turned into slices in a fixed order, so that map iteration order never
// reaches the random stream.
type plan struct {
	seed     uint64
	entries  int
	overlap  float64
	insts    []instPlan
	types    typeMix
	from, to catalog.Date
}

// typeMix is a weighted choice of identifier types.
type typeMix struct {
	types []ident.Type
	w     []int
	sum   int
}

// draw picks a type with probability proportional to its weight.
func (m typeMix) draw(r *rand.Rand) ident.Type { return m.types[weighted(r, m.w, m.sum)] }

type instPlan struct {
	msp    string
	quota  int
	cats   []Category
	catW   []int
	catSum int
	// falsePos is Institution.FalsePositives.
	falsePos float64
}

// plan validates c and fills in the defaults.
func (c Config) plan() (*plan, error) {
	p := &plan{seed: c.Seed, entries: c.Entries, overlap: c.Overlap, from: c.From, to: c.To}
	p.entries = cmp.Or(p.entries, DefaultEntries)
	if p.entries < 0 || p.entries > MaxEntries {
		return nil, fmt.Errorf("%w: entries %d not in 1..%d", ErrConfig, p.entries, MaxEntries)
	}
	switch {
	case p.overlap == 0:
		p.overlap = DefaultOverlap
	case p.overlap < 0:
		p.overlap = 0
	case p.overlap > 1:
		return nil, fmt.Errorf("%w: overlap %v above 1", ErrConfig, p.overlap)
	}
	if p.from == 0 && p.to == 0 {
		p.from, p.to = defaultFrom, defaultTo
	}
	if p.from > p.to || p.to > catalog.MaxDate {
		return nil, fmt.Errorf("%w: listed window %v to %v", ErrConfig, p.from, p.to)
	}

	types := c.Types
	if len(types) == 0 {
		types = defaultTypes
	}
	for t, w := range types {
		if !knownType(t) || w < 0 {
			return nil, fmt.Errorf("%w: type weight %q=%d", ErrConfig, t, w)
		}
	}
	for _, t := range ident.Types {
		if w := types[t]; w > 0 {
			p.types.types = append(p.types.types, t)
			p.types.w = append(p.types.w, w)
			p.types.sum += w
		}
	}
	if p.types.sum == 0 {
		return nil, fmt.Errorf("%w: every type weight is zero", ErrConfig)
	}

	insts := c.Institutions
	if len(insts) == 0 {
		insts = DefaultInstitutions()
	}
	if len(insts) > MaxInstitutions {
		return nil, fmt.Errorf("%w: %d institutions, at most %d", ErrConfig, len(insts), MaxInstitutions)
	}
	seen := make(map[string]bool)
	weights := make([]int, len(insts))
	for i, in := range insts {
		ip, err := in.plan()
		if err != nil {
			return nil, fmt.Errorf("institution %d: %w", i, err)
		}
		if seen[ip.msp] {
			return nil, fmt.Errorf("%w: institution %d: duplicate MSP id", ErrConfig, i)
		}
		seen[ip.msp] = true
		weights[i] = in.Weight
		if weights[i] == 0 {
			weights[i] = 1
		}
		p.insts = append(p.insts, ip)
	}
	for i, q := range apportion(p.entries, weights) {
		p.insts[i].quota = q
	}
	return p, nil
}

// plan validates in and fills in the defaults, except the quota.
func (in Institution) plan() (instPlan, error) {
	ip := instPlan{msp: in.MSPID, falsePos: in.FalsePositives}
	if in.MSPID == "" || len(in.MSPID) > 128 {
		return ip, fmt.Errorf("%w: MSP id must have 1 to 128 bytes", ErrConfig)
	}
	if in.Weight < 0 {
		return ip, fmt.Errorf("%w: negative weight", ErrConfig)
	}
	if !(in.FalsePositives >= 0 && in.FalsePositives <= 1) {
		return ip, fmt.Errorf("%w: false positives %v not in 0..1", ErrConfig, in.FalsePositives)
	}
	cats := in.Categories
	if len(cats) == 0 {
		cats = defaultCategories
	}
	for c, w := range cats {
		if !c.valid() || w < 0 {
			return ip, fmt.Errorf("%w: category weight %v=%d", ErrConfig, c, w)
		}
	}
	for _, c := range Categories {
		if w := cats[c]; w > 0 {
			ip.cats = append(ip.cats, c)
			ip.catW = append(ip.catW, w)
			ip.catSum += w
		}
	}
	if ip.catSum == 0 {
		return ip, fmt.Errorf("%w: every category weight is zero", ErrConfig)
	}
	return ip, nil
}

// apportion splits n in proportion to weights by the largest-remainder
// method, so the parts add up to n exactly.
func apportion(n int, weights []int) []int {
	sum := 0
	for _, w := range weights {
		sum += w
	}
	parts := make([]int, len(weights))
	rem := make([]int, len(weights))
	left := n
	for i, w := range weights {
		parts[i] = int(int64(n) * int64(w) / int64(sum))
		rem[i] = int(int64(n) * int64(w) % int64(sum))
		left -= parts[i]
	}
	for ; left > 0; left-- {
		best := 0
		for i := range rem {
			if rem[i] > rem[best] {
				best = i
			}
		}
		parts[best]++
		rem[best] = -1
	}
	return parts
}
