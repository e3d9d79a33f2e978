package ecdh

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
)

// itemLabel is the label a side gives an item in these tests: a hash of
// the side's name and the item, so that the label a side receives for one
// of its rows shows whose label of which item it is.
func itemLabel(side string, item []byte) [LabelSize]byte {
	sum := sha256.Sum256(append([]byte(side+"|"), item...))
	return [LabelSize]byte(sum[:LabelSize])
}

func labelsOf(side string, items [][]byte) func(int) ([LabelSize]byte, error) {
	return func(i int) ([LabelSize]byte, error) { return itemLabel(side, items[i]), nil }
}

// labelPair is a finished BothLearn reconciliation and both sides' label
// exchanges over the matches MatchKeys found in every reply.
type labelPair struct {
	pair
	x, y              [][]byte
	wantX, wantY      []int
	reqX, respX       *LabelExchange
	reqKeys, respKeys []Match
}

func newLabelPair(t testing.TB, n, m, overlap, chunk int, seed uint64) *labelPair {
	t.Helper()
	x, y, wantX, wantY := sets(t, seed, n, m, overlap)
	p := newPair(t, BothLearn, x, y, chunk, seed+100)
	var replies []*Chunk
	if _, _, err := p.run(t, func(c *Chunk) *Chunk {
		if c.Kind == KindResponderReply {
			replies = append(replies, c)
		}
		return c
	}); err != nil {
		t.Fatal(err)
	}
	lp := &labelPair{pair: p, x: x, y: y, wantX: wantX, wantY: wantY}
	for _, c := range replies {
		mr, err := p.req.MatchKeys(c)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := p.resp.MatchKeys(c)
		if err != nil {
			t.Fatal(err)
		}
		lp.reqKeys, lp.respKeys = append(lp.reqKeys, mr...), append(lp.respKeys, ms...)
	}
	var err error
	if lp.reqX, err = p.req.Labels(lp.reqKeys); err != nil {
		t.Fatal(err)
	}
	if lp.respX, err = p.resp.Labels(lp.respKeys); err != nil {
		t.Fatal(err)
	}
	return lp
}

func indices(ms []Match) []int {
	var out []int
	for _, m := range ms {
		out = append(out, m.Index)
	}
	slices.Sort(out)
	return out
}

// exchange runs the label exchange to its end over the wire encoding, the
// requester first at each position, and returns the labels each side got
// by its own index.
func (lp *labelPair) exchange(t *testing.T, onResp func(*LabelChunk) *LabelChunk) (gotX, gotY map[int][LabelSize]byte, err error) {
	t.Helper()
	gotX, gotY = map[int][LabelSize]byte{}, map[int][LabelSize]byte{}
	for seq := range uint32(lp.reqX.Chunks()) {
		c, err := lp.reqX.OwnChunk(seq, labelsOf("requester", lp.x))
		if err != nil {
			return nil, nil, err
		}
		got, err := lp.respX.Accept(wire[*LabelChunk, *LabelChunk](t, c))
		if err != nil {
			return nil, nil, err
		}
		for _, g := range got {
			gotY[g.Index] = g.Label
		}
		a, err := lp.respX.OwnChunk(seq, labelsOf("responder", lp.y))
		if err != nil {
			return nil, nil, err
		}
		if onResp != nil {
			a = onResp(a)
		}
		if got, err = lp.reqX.Accept(a); err != nil {
			return nil, nil, err
		}
		for _, g := range got {
			gotX[g.Index] = g.Label
		}
	}
	return gotX, gotY, nil
}

func TestLabelExchange(t *testing.T) {
	for i, tc := range []struct {
		name                 string
		n, m, overlap, chunk int
	}{
		{"several chunks", 120, 90, 21, 8},
		{"one chunk", 40, 50, 5, 64},
		{"single match", 10, 10, 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lp := newLabelPair(t, tc.n, tc.m, tc.overlap, tc.chunk, uint64(i+1))
			if !slices.Equal(indices(lp.reqKeys), lp.wantX) || !slices.Equal(indices(lp.respKeys), lp.wantY) {
				t.Fatal("MatchKeys found other rows than the reconciliation matched")
			}
			gotX, gotY, err := lp.exchange(t, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !lp.reqX.Done() || !lp.respX.Done() {
				t.Fatal("exchange not done after every chunk")
			}
			// Each side got, for each of its matched rows, the other side's
			// label of the same item, and nothing else.
			for side, c := range map[string]struct {
				got   map[int][LabelSize]byte
				own   [][]byte
				want  []int
				peerN string
			}{
				"requester": {gotX, lp.x, lp.wantX, "responder"},
				"responder": {gotY, lp.y, lp.wantY, "requester"},
			} {
				if len(c.got) != len(c.want) {
					t.Fatalf("%s got %d labels, %d rows matched", side, len(c.got), len(c.want))
				}
				for _, i := range c.want {
					if c.got[i] != itemLabel(c.peerN, c.own[i]) {
						t.Fatalf("%s row %d: not the %s's label of that item", side, i, c.peerN)
					}
				}
			}
		})
	}
}

// unmatchedKey is the label key of one of the responder's rows that did not
// match: what a responder that sends the label of an unmatched row uses.
func (lp *labelPair) unmatchedKey(t testing.TB) LabelKey {
	t.Helper()
	for _, e := range lp.resp.set {
		if e.index&matchedFlag == 0 {
			return labelKey(&lp.resp.session, &e.key)
		}
	}
	t.Fatal("every responder row matched")
	return LabelKey{}
}

func sortEntries(es []LabelEntry) {
	slices.SortFunc(es, func(a, b LabelEntry) int { return bytes.Compare(a.Key[:], b.Key[:]) })
}

// TestAdversaryLabels plays a dishonest responder that edits its label
// chunk, signed or not (a node checks the record signature first; here the
// library's own checks): the requester refuses each, and the exchange
// ends.
func TestAdversaryLabels(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(lp *labelPair, c *LabelChunk) *LabelChunk
		want error
	}{
		{"LabelOfUnmatchedRow", func(lp *labelPair, c *LabelChunk) *LabelChunk {
			c.Entries[0].Key = lp.unmatchedKey(t)
			sortEntries(c.Entries)
			return c
		}, ErrLabelKey},
		{"MoreLabelsThanMatches", func(lp *labelPair, c *LabelChunk) *LabelChunk {
			c.Total++
			return c
		}, ErrLabelCount},
		{"ExtraEntryInChunk", func(lp *labelPair, c *LabelChunk) *LabelChunk {
			c.Entries = append(c.Entries, LabelEntry{Key: lp.unmatchedKey(t)})
			sortEntries(c.Entries)
			return c
		}, ErrLabelCount},
		{"RepeatedLabel", func(lp *labelPair, c *LabelChunk) *LabelChunk {
			c.Entries[1] = c.Entries[0]
			return c
		}, ErrLabelKey},
		{"ReplayedChunk", func(lp *labelPair, c *LabelChunk) *LabelChunk {
			if c.Seq == 1 {
				c.Seq = 0
			}
			return c
		}, ErrSequence},
		{"OtherSession", func(lp *labelPair, c *LabelChunk) *LabelChunk {
			c.Session[0] ^= 1
			return c
		}, ErrSessionMismatch},
		{"RequesterStream", func(lp *labelPair, c *LabelChunk) *LabelChunk {
			c.Kind = KindRequesterLabels
			return c
		}, ErrChunkKind},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lp := newLabelPair(t, 60, 60, 12, 8, 7)
			_, _, err := lp.exchange(t, func(c *LabelChunk) *LabelChunk { return tc.edit(lp, c) })
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if _, err := lp.reqX.Accept(nil); !errors.Is(err, ErrFailed) {
				t.Fatalf("after a refused chunk: %v, want ErrFailed", err)
			}
		})
	}
}

func TestLabelsRefused(t *testing.T) {
	x, y, _, _ := sets(t, 9, 30, 30, 6)
	t.Run("RequesterLearns", func(t *testing.T) {
		p := newPair(t, RequesterLearns, x, y, 8, 1)
		if _, _, err := p.run(t, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := p.req.Labels(nil); !errors.Is(err, ErrMode) {
			t.Fatalf("err = %v, want ErrMode", err)
		}
	})
	t.Run("BeforeTheMatchingEnded", func(t *testing.T) {
		p := newPair(t, BothLearn, x, y, 8, 1)
		if _, err := p.req.Labels(nil); !errors.Is(err, ErrOutOfOrder) {
			t.Fatalf("err = %v, want ErrOutOfOrder", err)
		}
	})
	t.Run("MatchesIncomplete", func(t *testing.T) {
		lp := newLabelPair(t, 30, 30, 6, 8, 2)
		if _, err := lp.req.Labels(lp.reqKeys[1:]); !errors.Is(err, ErrLabelMatches) {
			t.Fatalf("err = %v, want ErrLabelMatches", err)
		}
	})
	t.Run("ResponderBeforeRequester", func(t *testing.T) {
		lp := newLabelPair(t, 30, 30, 6, 8, 3)
		if _, err := lp.respX.OwnChunk(0, labelsOf("responder", lp.y)); !errors.Is(err, ErrOutOfOrder) {
			t.Fatalf("err = %v, want ErrOutOfOrder", err)
		}
	})
}

// FuzzLabelChunk: whatever the label-chunk decoder accepts re-encodes to
// the input, and it fails only with the package's format errors.
func FuzzLabelChunk(f *testing.F) {
	lp := newLabelPair(f, 20, 20, 5, 4, 11)
	for seq := range uint32(2) {
		c, err := lp.reqX.OwnChunk(seq, labelsOf("requester", lp.x))
		if err != nil {
			f.Fatal(err)
		}
		enc, err := c.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
		f.Add(enc[:labelChunkHeaderSize])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c LabelChunk
		if err := c.UnmarshalBinary(data); err != nil {
			if known(err) || errors.Is(err, ErrLabelCount) || errors.Is(err, ErrLabelKey) {
				return
			}
			t.Fatalf("unexpected error kind: %v", err)
		}
		if len(data) != labelChunkHeaderSize+len(c.Entries)*labelEntrySize {
			t.Fatalf("%d entries decoded from %d bytes", len(c.Entries), len(data))
		}
		again, err := c.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("accepted a non-canonical label chunk:\n in %x\nout %x", data, again)
		}
	})
}
