package ecdh

import (
	"errors"
	"slices"
	"testing"

	"filippo.io/edwards25519"
	"github.com/gtank/ristretto255"
)

// The TestAdversary tests play a dishonest side running this package's code
// with its own valid secret and changing what it sends; the honest side is
// the unmodified Reconciler. docs/protocol/ecdh.md cites them.

// double returns p·2, a valid point that is not p raised to the committed key.
func double(t testing.TB, p Point) Point {
	t.Helper()
	var e edwards25519.Point
	if err := decodePoint(&e, &p); err != nil {
		t.Fatal(err)
	}
	e.Add(&e, &e)
	var out Point
	encodePoint(&out, &e)
	return out
}

// TestAdversaryWrongExponentiation: a side that returns any point other
// than the one its committed key gives is caught on the chunk it sends, by
// the honest side's proof check, whichever point it changes and however.
func TestAdversaryWrongExponentiation(t *testing.T) {
	x, y, _, _ := sets(t, 40, 120, 100, 30)
	other, _ := randomScalar(testRand(99))
	cases := []struct {
		name   string
		mode   Mode
		kind   ChunkKind
		change func(t *testing.T, c *Chunk)
	}{
		{"responder reply, one point doubled", RequesterLearns, KindResponderReply, func(t *testing.T, c *Chunk) {
			c.Points[7] = double(t, c.Points[7])
		}},
		{"responder reply, one point under another key", BothLearn, KindResponderReply, func(t *testing.T, c *Chunk) {
			var e ristretto255.Element
			_, _ = e.SetCanonicalBytes(c.Points[0][:])
			e.ScalarMult(other, &e)
			c.Points[0] = Point(e.Bytes())
		}},
		{"requester return, last point doubled", BothLearn, KindRequesterReturn, func(t *testing.T, c *Chunk) {
			c.Points[len(c.Points)-1] = double(t, c.Points[len(c.Points)-1])
		}},
		{"responder reply, points reordered", BothLearn, KindResponderReply, func(t *testing.T, c *Chunk) {
			c.Points[0], c.Points[1] = c.Points[1], c.Points[0]
		}},
		{"requester return, proof of another chunk", BothLearn, KindRequesterReturn, func(t *testing.T, c *Chunk) {
			c.Proof[3] ^= 1
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, tc.mode, x, y, 32, uint64(i))
			changed := false
			_, _, err := p.run(t, func(c *Chunk) *Chunk {
				if c.Kind == tc.kind && c.Seq == 1 && !changed {
					tc.change(t, c)
					changed = true
				}
				return c
			})
			if !changed {
				t.Fatal("the dishonest chunk was never sent")
			}
			if !errors.Is(err, ErrProof) {
				t.Fatalf("err = %v, want ErrProof", err)
			}
		})
	}
}

// TestAdversaryWithheldMatches: a side that learns the matches first and
// corrupts exactly the answers that would give the other side its matches
// is caught, in both directions.
func TestAdversaryWithheldMatches(t *testing.T) {
	x, y, _, _ := sets(t, 41, 100, 100, 40)
	t.Run("requester corrupts the returns of matched items", func(t *testing.T) {
		p := newPair(t, BothLearn, x, y, 25, 1)
		// The dishonest requester knows its own matches once phase 2 ends; in
		// phase 1 it can only guess, so it corrupts every return it sends.
		_, _, err := p.run(t, func(c *Chunk) *Chunk {
			if c.Kind == KindRequesterReturn {
				c.Points[0] = double(t, c.Points[0])
			}
			return c
		})
		if !errors.Is(err, ErrProof) {
			t.Fatalf("err = %v, want ErrProof", err)
		}
	})
	t.Run("responder corrupts the replies of matched items", func(t *testing.T) {
		p := newPair(t, BothLearn, x, y, 25, 2)
		var ownMatches []int
		_, _, err := p.run(t, func(c *Chunk) *Chunk {
			if c.Kind != KindResponderReply {
				return c
			}
			// The responder learned which requester positions match when it
			// answered (its own Answer returned them); it hides them.
			for i := range c.Points {
				key := p.resp.session.key(&c.Points[i])
				if _, ok := slices.BinarySearchFunc(p.resp.set, key, func(e setEntry, k matchKey) int {
					return compareKeys(e.key, k)
				}); ok {
					c.Points[i] = double(t, c.Points[i])
					ownMatches = append(ownMatches, i)
				}
			}
			return c
		})
		if len(ownMatches) == 0 {
			t.Fatal("the first chunk had no match to withhold")
		}
		if !errors.Is(err, ErrProof) {
			t.Fatalf("err = %v, want ErrProof", err)
		}
	})
}

func compareKeys(a, b matchKey) int {
	return slices.Compare(a[:], b[:])
}

// TestAdversarySubstitutedInput: a side may reconcile another list than the
// one it owns; nothing detects it (as in any PSI), and the honest side's
// result is exactly the intersection with the substituted list: nothing
// beyond its own items, and no error.
func TestAdversarySubstitutedInput(t *testing.T) {
	x, y, wantX, _ := sets(t, 42, 80, 80, 20)
	substitute := slices.Clone(y)
	shared := map[string]bool{}
	for _, i := range wantX {
		shared[string(x[i])] = true
	}
	dropped := 0
	for j := range substitute { // the dishonest responder drops ten shared items ...
		if shared[string(substitute[j])] && dropped < 10 {
			substitute[j] = []byte("substituted-" + string(rune('a'+dropped)))
			dropped++
		}
	}
	guess := slices.IndexFunc(x, func(item []byte) bool { return !shared[string(item)] })
	for shared[string(substitute[0])] {
		substitute = append(substitute[1:], substitute[0])
	}
	substitute[0] = x[guess] // ... and replaces an unshared item by one of the requester's it guessed
	p := newPair(t, BothLearn, x, substitute, 16, 3)
	gotX, _, err := p.run(t, nil)
	if err != nil {
		t.Fatalf("a substituted input is a valid run, got %v", err)
	}
	var want []int
	inSub := map[string]bool{}
	for _, s := range substitute {
		inSub[string(s)] = true
	}
	for i := range x {
		if inSub[string(x[i])] {
			want = append(want, i)
		}
	}
	if !slices.Equal(gotX, want) {
		t.Fatalf("requester matches %v, want the intersection with the substituted list %v", gotX, want)
	}
	if !slices.Contains(gotX, guess) || len(gotX) != len(wantX)-10+1 {
		t.Fatalf("requester matches %v do not reflect the substitution", gotX)
	}
}

// TestAdversaryReplayedChunk: a chunk sent again, as itself or in place of
// the next one, is refused at once.
func TestAdversaryReplayedChunk(t *testing.T) {
	x, y, _, _ := sets(t, 43, 64, 64, 10)
	t.Run("responder resends a masked chunk", func(t *testing.T) {
		p := newPair(t, RequesterLearns, x, y, 16, 4)
		c0, _ := p.resp.OwnChunk(0)
		if _, _, err := p.req.Answer(wire[*Chunk, *Chunk](t, c0)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := p.req.Answer(wire[*Chunk, *Chunk](t, c0)); !errors.Is(err, ErrReplay) {
			t.Fatalf("err = %v, want ErrReplay", err)
		}
	})
	t.Run("responder replays a masked chunk as the next one", func(t *testing.T) {
		p := newPair(t, RequesterLearns, x, y, 16, 4)
		c0, _ := p.resp.OwnChunk(0)
		if _, _, err := p.req.Answer(wire[*Chunk, *Chunk](t, c0)); err != nil {
			t.Fatal(err)
		}
		c0.Seq = 1
		// Seq 1 now carries chunk 0's points: the requester cannot tell them
		// from fresh items, so this is the responder repeating items, which
		// the set's duplicate check refuses when phase 1 completes.
		var err error
		for seq := uint32(1); seq < 4 && err == nil; seq++ {
			c := c0
			if seq > 1 {
				c, _ = p.resp.OwnChunk(seq)
			}
			_, _, err = p.req.Answer(wire[*Chunk, *Chunk](t, c))
		}
		if !errors.Is(err, ErrDuplicatePoint) {
			t.Fatalf("err = %v, want ErrDuplicatePoint", err)
		}
	})
	t.Run("responder replays an old reply", func(t *testing.T) {
		p := newPair(t, BothLearn, x, y, 16, 5)
		var first *Chunk
		_, _, err := p.run(t, func(c *Chunk) *Chunk {
			if c.Kind != KindResponderReply {
				return c
			}
			if first == nil {
				first = wire[*Chunk, *Chunk](t, c)
				return c
			}
			replay := wire[*Chunk, *Chunk](t, first)
			replay.Seq = c.Seq
			return replay
		})
		if !errors.Is(err, ErrProof) {
			t.Fatalf("err = %v, want ErrProof", err)
		}
	})
	t.Run("answer accepted twice", func(t *testing.T) {
		p := newPair(t, RequesterLearns, x, y, 64, 6)
		c0, _ := p.resp.OwnChunk(0)
		if _, _, err := p.req.Answer(c0); err != nil {
			t.Fatal(err)
		}
		own, _ := p.req.OwnChunk(0)
		reply, _, err := p.resp.Answer(own)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.req.Accept(wire[*Chunk, *Chunk](t, reply)); err != nil {
			t.Fatal(err)
		}
		if _, err := p.req.Accept(wire[*Chunk, *Chunk](t, reply)); !errors.Is(err, ErrReplay) {
			t.Fatalf("err = %v, want ErrReplay", err)
		}
	})
}

// TestAdversaryReorderedChunk: a chunk sent ahead of its turn, or an answer
// to a chunk not yet sent, is refused.
func TestAdversaryReorderedChunk(t *testing.T) {
	x, y, _, _ := sets(t, 44, 64, 64, 10)
	p := newPair(t, BothLearn, x, y, 16, 7)
	c1, _ := p.resp.OwnChunk(1)
	if _, _, err := p.req.Answer(c1); !errors.Is(err, ErrSequence) {
		t.Fatalf("chunk 1 before 0: err = %v, want ErrSequence", err)
	}
	q := newPair(t, BothLearn, x, y, 16, 7)
	c0, _ := q.resp.OwnChunk(0)
	ret, _, err := q.req.Answer(c0)
	if err != nil {
		t.Fatal(err)
	}
	ret.Seq = 1
	if _, err := q.resp.Accept(ret); !errors.Is(err, ErrSequence) {
		t.Fatalf("answer to chunk 1 before 0: err = %v, want ErrSequence", err)
	}
	r := newPair(t, BothLearn, x, y, 16, 7)
	c0, _ = r.resp.OwnChunk(0)
	swapped := wire[*Chunk, *Chunk](t, c0)
	swapped.Kind = KindRequesterMasked
	if _, _, err := r.req.Answer(swapped); !errors.Is(err, ErrChunkKind) {
		t.Fatalf("chunk of the wrong stream: err = %v, want ErrChunkKind", err)
	}
}

// TestAdversaryUnmaskedInjection is the review finding of issue I: a
// dishonest responder slips an unmasked H(z) into its masked items in
// BothLearn, gets H(z)^a back (correctly proved: the requester cannot tell
// H(z) from H(y)^b), and looks for it among the requester's masked items.
// It learns that z is in the requester's list, as it would by putting z in
// its own input, but only at a position of the requester's fresh secret
// order: the position differs from session to session and does not give
// z's row. The requester is not told of a match for z.
func TestAdversaryUnmaskedInjection(t *testing.T) {
	x, y, _, _ := sets(t, 45, 200, 50, 0)
	const row = 117 // z is the requester's row 117
	z := x[row]
	positions := map[int]bool{}
	for session := range 6 {
		p := newPair(t, BothLearn, x, y, 64, uint64(100+session))
		var hz, hza Point
		var e edwards25519.Point
		if err := p.resp.h.hash(&e, z); err != nil {
			t.Fatal(err)
		}
		encodePoint(&hz, &e)
		position := -1
		gotX, _, err := p.run(t, func(c *Chunk) *Chunk {
			switch {
			case c.Kind == KindResponderMasked && c.Seq == 0:
				// The injection; the dishonest responder keeps its own copy
				// consistent so that it accepts the return.
				c.Points[5] = hz
				own := p.resp.outstanding[0]
				own.points[5] = hz
				own.elems[5].Set(&e)
			case c.Kind == KindRequesterReturn && c.Seq == 0:
				hza = c.Points[5] // H(z)^a, correctly proved
			case c.Kind == KindRequesterMasked:
				if i := slices.Index(c.Points, hza); i >= 0 {
					position = int(c.Seq)*64 + i
				}
			}
			return c
		})
		if err != nil {
			t.Fatalf("session %d: the injection is undetectable, but the run failed: %v", session, err)
		}
		if position < 0 {
			t.Fatalf("session %d: the responder did not find H(z)^a among the requester's items", session)
		}
		if int(p.req.perm[position]) != row {
			t.Fatalf("session %d: position %d is not z's (the test's view of the secret order is wrong)", session, position)
		}
		if slices.Contains(gotX, row) {
			t.Fatalf("session %d: the requester reports z matched", session)
		}
		positions[position] = true
	}
	if len(positions) < 2 {
		t.Fatalf("z was found at the same position %v in six sessions: the order is not fresh", positions)
	}
	delete(positions, row)
	if len(positions) == 0 {
		t.Fatal("the position the responder learns is z's row in every session")
	}
}
