package synth

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// MaxBatch bounds BatchConfig.Size; a node accepts at most 100,000
// identifiers per query by default.
const MaxBatch = 1_000_000

// BatchConfig describes a one-to-many query batch with planted hits. The
// counts are exact; what is left of Size after them are identifiers on no
// list at all.
type BatchConfig struct {
	// Seed selects the batch; different seeds give different batches over
	// the same lists.
	Seed uint64
	// Category is the category queried; required.
	Category Category
	// Size is the number of identifiers, 1 to MaxBatch. Default 1000.
	Size int
	// Hits is the number of identifiers listed in Category by at least one
	// institution.
	Hits int
	// MultiHits is how many of the Hits are listed in Category by at least
	// two institutions (at most Hits).
	MultiHits int
	// FalseHits is how many of the Hits are planted false positives
	// (Institution.FalsePositives), each listed by its one institution (at
	// most Hits - MultiHits). The other hits are all rightly listed.
	FalseHits int
	// OtherCategory is the number of identifiers listed by some institution,
	// but only in other categories: misses for this query, which catch a
	// node that ignores the category.
	OtherCategory int
	// Invalid is the number of identifiers that fail normalisation (wrong
	// check digit, bad date, too short, malformed, empty), for per-item
	// error reporting.
	Invalid int
	// Duplicates is the number of items that repeat an earlier valid
	// identifier (hit or miss), usually in another raw form; a node answers
	// (and bills) each distinct identifier once but reports every item.
	// They need at least one valid identifier among the others.
	Duplicates int
}

// Batch is a query batch and its exact expected result.
type Batch struct {
	Category Category
	Items    []Item
}

// Item is one identifier of a batch, as a business system would send it.
type Item struct {
	Type ident.Type
	// Raw is the value as sent, in one of the forms a data store holds
	// (separators, case, spaces); it normalises to ID.
	Raw string
	// ID is Raw normalised, or the zero ID when Raw is invalid.
	ID ident.ID
	// Invalid is the psi/ident sentinel Raw fails with (ident.ErrChecksum,
	// ident.ErrDate, ...), nil when valid.
	Invalid error
	// InvalidReason is what a node's business API reports for an invalid
	// Raw; INVALID_REASON_UNSPECIFIED when valid.
	InvalidReason riskmeshv1.InvalidReason
	// Hits are the institutions listing ID in the batch's category, sorted
	// by MSP id, with their labels; empty for a miss.
	Hits []Hit
}

// Hit is one institution's listing of an identifier.
type Hit struct {
	Provider string // MSP id
	Label    catalog.Label
	// False marks a planted false positive: the identifier deserves no
	// listing, and a requester that acts on the hit finds it wrong.
	False bool
}

// kinds of batch identifiers, in the order they are drawn.
const (
	kindMulti = iota
	kindHit
	kindFalse
	kindOther
	kindMiss
	numKinds
)

// maxRounds bounds the draw-and-check rounds of Batch: each round draws
// candidates for what is still missing and checks them in one pass over the
// lists; a kind that is still short afterwards is too rare in these lists.
const maxRounds = 8

// Batch draws a query batch from the lists and computes its expected result
// by looking every identifier up in every list, so the expectation does not
// depend on how the identifiers were chosen. It does not modify c, so
// batches can be drawn concurrently.
func (c *Consortium) Batch(cfg BatchConfig) (*Batch, error) {
	if cfg.Size == 0 {
		cfg.Size = 1000
	}
	misses := cfg.Size - cfg.Hits - cfg.OtherCategory - cfg.Invalid - cfg.Duplicates
	switch {
	case !cfg.Category.valid():
		return nil, fmt.Errorf("%w: category %v", ErrConfig, cfg.Category)
	case cfg.Size < 1 || cfg.Size > MaxBatch:
		return nil, fmt.Errorf("%w: size %d not in 1..%d", ErrConfig, cfg.Size, MaxBatch)
	case cfg.Hits < 0 || cfg.MultiHits < 0 || cfg.FalseHits < 0 || cfg.OtherCategory < 0 || cfg.Invalid < 0 || cfg.Duplicates < 0 ||
		cfg.MultiHits+cfg.FalseHits > cfg.Hits:
		return nil, fmt.Errorf("%w: negative count, or more multi-hits and false hits than hits", ErrConfig)
	case misses < 0:
		return nil, fmt.Errorf("%w: hits, other-category, invalid and duplicates exceed size %d", ErrConfig, cfg.Size)
	case cfg.Duplicates > 0 && cfg.Size-cfg.Invalid-cfg.Duplicates == 0:
		return nil, fmt.Errorf("%w: duplicates of no valid identifier", ErrConfig)
	}
	d := &drawer{c: c, cat: cfg.Category, r: newRand(cfg.Seed, "batch"), picked: make(map[ident.ID]bool)}
	for _, l := range c.Lists {
		d.total += len(l.Entries)
	}
	got, err := d.draw([numKinds]int{cfg.MultiHits, cfg.Hits - cfg.MultiHits - cfg.FalseHits, cfg.FalseHits, cfg.OtherCategory, misses})
	if err != nil {
		return nil, fmt.Errorf("%w: %d hits (%d on several lists, %d false), %d other-category in %v from these lists",
			err, cfg.Hits, cfg.MultiHits, cfg.FalseHits, cfg.OtherCategory, cfg.Category)
	}

	b := &Batch{Category: cfg.Category, Items: make([]Item, 0, cfg.Size)}
	for _, items := range got {
		b.Items = append(b.Items, items...)
	}
	valid := len(b.Items)
	for range cfg.Duplicates {
		it := b.Items[d.r.IntN(valid)]
		it.Hits = slices.Clone(it.Hits)
		b.Items = append(b.Items, it)
	}
	for range cfg.Invalid {
		k := invalidKinds[d.r.IntN(len(invalidKinds))]
		b.Items = append(b.Items, Item{Type: k.typ, Raw: k.make(d.r), Invalid: k.want, InvalidReason: k.reason})
	}
	d.r.Shuffle(len(b.Items), func(i, j int) { b.Items[i], b.Items[j] = b.Items[j], b.Items[i] })
	for i := range b.Items {
		if it := &b.Items[i]; it.Invalid == nil {
			it.Raw = rawForm(it.ID, d.r.Uint64())
		}
	}
	return b, nil
}

// fits reports whether an identifier with these listings is of kind k.
func fits(k int, h listings, cat Category) bool {
	in := h.in(cat)
	n := len(in)
	planted := slices.ContainsFunc(in, func(x Hit) bool { return x.False })
	switch k {
	case kindMulti:
		return n >= 2 && !planted
	case kindHit:
		return n >= 1 && !planted
	case kindFalse:
		return planted
	case kindOther:
		return n == 0 && len(h) > 0
	}
	return len(h) == 0
}

// draw returns want[k] valid items of each kind k, with their hits.
func (d *drawer) draw(want [numKinds]int) ([numKinds][]Item, error) {
	var got [numKinds][]Item
	for range maxRounds {
		short := false
		var cands [numKinds][]ident.ID
		for k := range want {
			cands[k] = d.candidates(k, want[k]-len(got[k]))
			short = short || len(got[k]) < want[k]
		}
		if !short {
			return got, nil
		}
		hits := d.c.lookup(cands)
		for k := range want {
			for _, id := range cands[k] {
				h := hits[id]
				if len(got[k]) < want[k] && fits(k, h, d.cat) {
					got[k] = append(got[k], Item{Type: id.Type, ID: id, Hits: h.in(d.cat)})
				}
			}
		}
	}
	for k := range want {
		if len(got[k]) < want[k] {
			return got, ErrExhausted
		}
	}
	return got, nil
}

// drawer draws candidate identifiers for a batch, never the same one twice.
type drawer struct {
	c      *Consortium
	cat    Category
	r      *rand.Rand
	total  int // entries over all lists
	picked map[ident.ID]bool
}

// candidates draws up to enough candidates of kind k to yield n after the
// check, oversampling kinds that the check often rejects.
func (d *drawer) candidates(k, n int) []ident.ID {
	if n <= 0 {
		return nil
	}
	var out []ident.ID
	add := func(id ident.ID) {
		if !d.picked[id] {
			d.picked[id] = true
			out = append(out, id)
		}
	}
	switch k {
	case kindMulti:
		// Shared identifiers are on several lists, but in the queried
		// category on two of them only now and then.
		want := min(16*n+256, len(d.c.shared))
		for range 4 * want {
			if len(out) == want {
				break
			}
			add(d.c.shared[d.r.IntN(len(d.c.shared))])
		}
	case kindHit, kindOther:
		want := n
		if k == kindOther {
			want = 2 * n // some are listed in the queried category elsewhere
		}
		for range 64*n + 1024 {
			if len(out) == want || d.total == 0 {
				break
			}
			e := d.entry()
			if (Category(e.Label.Category) == d.cat) == (k == kindHit) {
				add(e.ID)
			}
		}
	case kindFalse:
		for range 64*n + 1024 {
			if len(out) == n || len(d.c.falsePos) == 0 {
				break
			}
			if e := &d.c.falsePos[d.r.IntN(len(d.c.falsePos))]; Category(e.Label.Category) == d.cat {
				add(e.ID)
			}
		}
	default:
		// Fresh identifiers, of the lists' types.
		for len(out) < n+n/8+1 {
			add(Identifier(d.r, d.c.types.draw(d.r)))
		}
	}
	return out
}

// entry returns an entry drawn uniformly from all lists.
func (d *drawer) entry() *catalogpsi.Entry {
	i := d.r.IntN(d.total)
	for _, l := range d.c.Lists {
		if i < len(l.Entries) {
			return &l.Entries[i]
		}
		i -= len(l.Entries)
	}
	return nil // unreachable: i < total
}

// listings are every institution's listings of one identifier, in any
// category.
type listings []Hit

// in returns the listings in category c, sorted by provider.
func (h listings) in(c Category) []Hit {
	var out []Hit
	for _, x := range h {
		if Category(x.Label.Category) == c {
			out = append(out, x)
		}
	}
	slices.SortFunc(out, func(a, b Hit) int { return cmp.Compare(a.Provider, b.Provider) })
	return out
}

// lookup finds every listing of the given identifiers in one pass over the
// lists.
func (c *Consortium) lookup(ids [numKinds][]ident.ID) map[ident.ID]listings {
	out := make(map[ident.ID]listings)
	for _, k := range ids {
		for _, id := range k {
			out[id] = nil
		}
	}
	for _, l := range c.Lists {
		for _, e := range l.Entries {
			if h, ok := out[e.ID]; ok {
				out[e.ID] = append(h, Hit{Provider: l.MSPID, Label: e.Label, False: l.falsePos[e.ID]})
			}
		}
	}
	return out
}
