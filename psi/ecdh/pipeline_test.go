package ecdh

import (
	"errors"
	"slices"
	"testing"
)

// clone returns a Reconciler in r's state over the same items, through a
// checkpoint: it has no decoded chunk and no chunk masked ahead.
func clone(t *testing.T, r *Reconciler, items [][]byte) *Reconciler {
	t.Helper()
	cp, err := r.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Resume(cp, ItemSlice(items), nil, testRand(99))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOwnChunkMaskedAhead asks for own chunks in order, out of order and
// again, and checks each is byte for byte the chunk a Reconciler that
// masked nothing ahead returns: a chunk masked in the background is the
// one asked for or is not used.
func TestOwnChunkMaskedAhead(t *testing.T) {
	const m, chunk = 90, 16 // six chunks, the last short
	x, y, _, _ := sets(t, 31, 20, m, 5)
	p := newPair(t, BothLearn, x, y, chunk, 31)
	for _, seq := range []uint32{0, 1, 3, 2, 2, 5, 4} {
		got, err := p.resp.OwnChunk(seq)
		if err != nil {
			t.Fatalf("OwnChunk(%d): %v", seq, err)
		}
		want, err := clone(t, p.resp, y).OwnChunk(seq)
		if err != nil {
			t.Fatalf("clone's OwnChunk(%d): %v", seq, err)
		}
		if got.Seq != seq || !slices.Equal(got.Points, want.Points) {
			t.Fatalf("OwnChunk(%d) differs from the chunk masked without looking ahead", seq)
		}
	}
}

// TestChunkChangedAfterDecoding changes a parsed chunk's points in place
// and checks the Reconciler works on the points the chunk holds, not on
// those UnmarshalBinary decoded: an invalid point is rejected, and a
// valid one is raised as it is.
func TestChunkChangedAfterDecoding(t *testing.T) {
	const chunk = 8
	x, y, _, _ := sets(t, 32, 10, 20, 4)
	for _, tt := range []struct {
		name   string
		change func(t *testing.T, c *Chunk)
		want   error
	}{
		{"invalid point", func(t *testing.T, c *Chunk) { c.Points[3] = Point{0xff, 0xff, 0xff} }, ErrInvalidPoint},
		{"identity", func(t *testing.T, c *Chunk) { c.Points[0] = identity }, ErrIdentityPoint},
		{"another valid point", func(t *testing.T, c *Chunk) { c.Points[2] = double(t, c.Points[2]) }, nil},
		{"points replaced", func(t *testing.T, c *Chunk) { c.Points = slices.Clone(c.Points); c.Points[1] = double(t, c.Points[1]) }, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPair(t, BothLearn, x, y, chunk, 32)
			own, err := p.resp.OwnChunk(0)
			if err != nil {
				t.Fatal(err)
			}
			c := wire[*Chunk, *Chunk](t, own)
			tt.change(t, c)
			fresh := clone(t, p.req, x)
			ans, _, err := p.req.Answer(c)
			if tt.want != nil {
				var pe *PointError
				if !errors.Is(err, tt.want) || !errors.As(err, &pe) {
					t.Fatalf("Answer of a chunk changed after decoding: %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The same points, built in memory (nothing decoded before).
			built := &Chunk{Kind: c.Kind, Mode: c.Mode, Session: c.Session, Seq: c.Seq, Points: slices.Clone(c.Points)}
			want, _, err := fresh.Answer(built)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ans.Points, want.Points) {
				t.Fatal("the answer raises the points decoded before the change, not the chunk's")
			}
			if err := VerifyAnswer(p.req.params, p.req.Commitment(), c, ans); err != nil {
				t.Fatalf("VerifyAnswer over the changed chunk: %v", err)
			}
		})
	}
}
