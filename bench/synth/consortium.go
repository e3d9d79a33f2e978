package synth

import (
	"fmt"
	"math/rand/v2"

	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// Consortium is a generated set of lists, one per institution.
type Consortium struct {
	// Lists are in the order of Config.Institutions.
	Lists []List

	// shared holds the identifiers on two or more lists, for batches that
	// want hits from several providers.
	shared []ident.ID
	// falsePos holds the planted false positives of every list, for
	// batches that want hits on them.
	falsePos []catalogpsi.Entry
	// types is the identifier mix of the lists, for fresh misses.
	types typeMix
}

// List is one institution's risk list. Identifiers are unique within it;
// entries are in random order.
type List struct {
	MSPID   string
	Entries []catalogpsi.Entry

	// falsePos holds the identifiers the list holds as planted false
	// positives (Institution.FalsePositives).
	falsePos map[ident.ID]bool
}

// Generate builds the lists cfg describes.
//
// Every identifier is drawn afresh and kept only if no list holds it yet, so
// a list never holds an identifier twice, and an identifier is on several
// lists only where the overlap puts it there. An overlapping identifier is on
// two lists, sometimes more; its labels are drawn per list, with the same
// category as on its first list half of the time (a person confirmed as a
// fraudster by one bank is often black-listed by the next), otherwise
// independently.
func Generate(cfg Config) (*Consortium, error) {
	p, err := cfg.plan()
	if err != nil {
		return nil, err
	}
	g := &generator{p: p, r: newRand(p.seed, "lists"), seen: make(map[uint64]struct{}, p.entries)}
	c := &Consortium{Lists: make([]List, len(p.insts)), types: p.types}
	for i, in := range p.insts {
		c.Lists[i] = List{MSPID: in.msp, Entries: make([]catalogpsi.Entry, 0, in.quota)}
	}
	if err := g.overlapping(c); err != nil {
		return nil, err
	}
	for i, in := range p.insts {
		l := &c.Lists[i]
		for len(l.Entries) < in.quota {
			id, err := g.newID()
			if err != nil {
				return nil, err
			}
			l.Entries = append(l.Entries, catalogpsi.Entry{ID: id, Label: g.label(in, 0)})
		}
		g.r.Shuffle(len(l.Entries), func(a, b int) { l.Entries[a], l.Entries[b] = l.Entries[b], l.Entries[a] })
		for j := range l.Entries {
			l.Entries[j].Label.Reference = reference(j)
		}
		if err := c.plantFalsePositives(i, int(in.falsePos*float64(in.quota))); err != nil {
			return nil, fmt.Errorf("institution %d: %w", i, err)
		}
	}
	return c, nil
}

// plantFalsePositives marks the first n entries of list i, in its random
// order, that no other list holds as false positives. It draws nothing, so
// the lists are the same with false positives as without.
func (c *Consortium) plantFalsePositives(i, n int) error {
	if n == 0 {
		return nil
	}
	shared := make(map[ident.ID]bool, len(c.shared))
	for _, id := range c.shared {
		shared[id] = true
	}
	l := &c.Lists[i]
	l.falsePos = make(map[ident.ID]bool, n)
	for _, e := range l.Entries {
		if len(l.falsePos) == n {
			break
		}
		if !shared[e.ID] {
			l.falsePos[e.ID] = true
			c.falsePos = append(c.falsePos, e)
		}
	}
	if len(l.falsePos) < n {
		return fmt.Errorf("%w: %d false positives asked, %d entries on no other list", ErrConfig, n, len(l.falsePos))
	}
	return nil
}

// generator holds the state of one Generate call.
type generator struct {
	p   *plan
	r   *rand.Rand
	buf []byte
	// seen holds a 64-bit hash of every identifier drawn so far. A new
	// identifier whose hash is taken is drawn again even if it differs from
	// the one it collides with (about once in 3*10^7 runs at 10^6 entries),
	// so no identifier is ever kept twice; hashes make Generate nearly twice
	// as fast as a set keyed by the values.
	seen map[uint64]struct{}
}

// maxDraws bounds the attempts at a fresh identifier: the spaces are so
// large that even a full MaxEntries run rarely needs a second draw.
const maxDraws = 64

// newID draws an identifier that no list holds yet.
func (g *generator) newID() (ident.ID, error) {
	t := g.p.types.draw(g.r)
	for range maxDraws {
		g.buf = append(append(g.buf[:0], t...), ':')
		g.buf = appendValue(g.buf, g.r, t)
		h := fnv1a(g.buf)
		if _, dup := g.seen[h]; dup {
			continue
		}
		g.seen[h] = struct{}{}
		return ident.ID{Type: t, Value: string(g.buf[len(t)+1:])}, nil
	}
	return ident.ID{}, fmt.Errorf("%w: %d draws of type %s all taken", ErrExhausted, maxDraws, t)
}

// overlapping adds the shared identifiers: each institution gets Overlap
// times its quota of them (rounded down), each shared with one or more
// others drawn in proportion to what they still need.
func (g *generator) overlapping(c *Consortium) error {
	need := make([]int, len(g.p.insts))
	for i, in := range g.p.insts {
		need[i] = int(g.p.overlap * float64(in.quota))
	}
	chosen := make([]int, 0, len(need))
	held := make([]int, 0, len(need))
	for {
		open, total := 0, 0
		for _, n := range need {
			if n > 0 {
				open++
				total += n
			}
		}
		if open < 2 {
			return nil
		}
		// Two lists most of the time, occasionally more.
		m := 2
		for m < open && g.r.IntN(4) == 0 {
			m++
		}
		chosen, held = chosen[:0], held[:0]
		for j := range m {
			// The institution that needs most always takes part, so that
			// the lists run out of need together and none is left over
			// unless its need exceeds all the others' together.
			k := 0
			if j == 0 {
				for i, n := range need {
					if n > need[k] {
						k = i
					}
				}
			} else {
				k = weighted(g.r, need, total)
			}
			total -= need[k]
			chosen = append(chosen, k)
			held = append(held, need[k])
			need[k] = 0 // out of the draw until this identifier is placed
		}
		id, err := g.newID()
		if err != nil {
			return err
		}
		c.shared = append(c.shared, id)
		var first Category
		for n, k := range chosen {
			need[k] = held[n] - 1
			in := g.p.insts[k]
			lab := g.label(in, first)
			if n == 0 {
				first = Category(lab.Category)
			}
			c.Lists[k].Entries = append(c.Lists[k].Entries, catalogpsi.Entry{ID: id, Label: lab})
		}
	}
}

// label draws an entry's category, reason and listed date; the reference is
// set once the list is in its final order. A non-zero like is the category
// the identifier has on another list, kept with probability 1/2 when the
// institution lists it.
func (g *generator) label(in instPlan, like Category) catalog.Label {
	cat := in.cats[weighted(g.r, in.catW, in.catSum)]
	if like != 0 && g.r.IntN(2) == 0 {
		for _, c := range in.cats {
			if c == like {
				cat = like
			}
		}
	}
	rs := reasons[cat]
	return catalog.Label{
		Category: uint8(cat),
		Reason:   rs[g.r.IntN(len(rs))].Code,
		Listed:   g.p.from + catalog.Date(g.r.IntN(int(g.p.to-g.p.from)+1)),
	}
}

// reference is the provider reference of the entry at index i: "C" and the
// case number i+1 in seven upper-case base-36 digits, like "C000002S".
func reference(i int) [8]byte {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var ref [8]byte
	ref[0] = 'C'
	n := i + 1
	for j := 7; j > 0; j-- {
		ref[j] = digits[n%36]
		n /= 36
	}
	return ref
}

// fnv1a is the 64-bit FNV-1a hash: fixed, unlike hash/maphash's random
// seeds, so redraws and therefore the lists are the same on every run.
func fnv1a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
