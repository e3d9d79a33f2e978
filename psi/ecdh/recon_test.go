package ecdh

import (
	"errors"
	"slices"
	"testing"
)

// pair is a requester and a responder that have exchanged commitments.
type pair struct {
	req, resp *Reconciler
}

func newPair(t testing.TB, mode Mode, x, y [][]byte, chunk int, seed uint64) pair {
	t.Helper()
	params := ReconParams{Mode: mode, Context: []byte("recon-test"), RequesterSize: len(x), ResponderSize: len(y), ChunkSize: chunk}
	req, err := NewReconciler(RoleRequester, params, ItemSlice(x), testRand(seed))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := NewReconciler(RoleResponder, params, ItemSlice(y), testRand(seed+1))
	if err != nil {
		t.Fatal(err)
	}
	if err := req.Start(resp.Commitment()); err != nil {
		t.Fatal(err)
	}
	if err := resp.Start(req.Commitment()); err != nil {
		t.Fatal(err)
	}
	return pair{req, resp}
}

// tamper, when set, may replace a chunk on its way to the other side.
type tamper func(c *Chunk) *Chunk

// run drives both sides to the end and returns their matches, sorted. It
// stops at the first error.
func (p pair) run(t testing.TB, on tamper) (reqMatches, respMatches []int, err error) {
	t.Helper()
	if on == nil {
		on = func(c *Chunk) *Chunk { return c }
	}
	mode := p.req.params.Mode
	for seq := range uint32(p.resp.chunks(p.resp.ownSize())) {
		c, err := p.resp.OwnChunk(seq)
		if err != nil {
			return nil, nil, err
		}
		ret, _, err := p.req.Answer(on(wire[*Chunk, *Chunk](t, c)))
		if err != nil {
			return nil, nil, err
		}
		if mode == BothLearn {
			m, err := p.resp.Accept(on(wire[*Chunk, *Chunk](t, ret)))
			if err != nil {
				return nil, nil, err
			}
			respMatches = append(respMatches, m...)
		}
	}
	for seq := range uint32(p.req.chunks(p.req.ownSize())) {
		c, err := p.req.OwnChunk(seq)
		if err != nil {
			return nil, nil, err
		}
		reply, m, err := p.resp.Answer(on(wire[*Chunk, *Chunk](t, c)))
		if err != nil {
			return nil, nil, err
		}
		respMatches = append(respMatches, m...)
		m, err = p.req.Accept(on(wire[*Chunk, *Chunk](t, reply)))
		if err != nil {
			return nil, nil, err
		}
		reqMatches = append(reqMatches, m...)
	}
	if !p.req.Done() || !p.resp.Done() {
		t.Fatalf("not done: requester %v, responder %v", p.req.Done(), p.resp.Done())
	}
	slices.Sort(reqMatches)
	slices.Sort(respMatches)
	return reqMatches, respMatches, nil
}

func TestReconcile(t *testing.T) {
	cases := []struct {
		name          string
		mode          Mode
		n, m, overlap int
		chunk         int
	}{
		{"both learn, balanced", BothLearn, 300, 300, 47, 64},
		{"both learn, uneven chunks", BothLearn, 277, 401, 90, 50},
		{"requester learns", RequesterLearns, 250, 320, 80, 64},
		{"one chunk each", BothLearn, 50, 60, 10, 0},
		{"no overlap", BothLearn, 300, 200, 0, 64},
		{"single items", BothLearn, 1, 1, 1, 1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, y, wantX, wantY := sets(t, uint64(i), tc.n, tc.m, tc.overlap)
			p := newPair(t, tc.mode, x, y, tc.chunk, uint64(10*i))
			gotX, gotY, err := p.run(t, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(gotX, wantX) {
				t.Errorf("requester matches %v, want %v", gotX, wantX)
			}
			if tc.mode == RequesterLearns {
				wantY = nil
			}
			if !slices.Equal(gotY, wantY) {
				t.Errorf("responder matches %v, want %v", gotY, wantY)
			}
			for _, r := range []*Reconciler{p.req, p.resp} {
				if done, total := r.Progress(); done != total || done == 0 {
					t.Errorf("%v progress %d of %d at the end", r.role, done, total)
				}
			}
			if p.req.Matches() != len(wantX) {
				t.Errorf("requester Matches() = %d, want %d", p.req.Matches(), len(wantX))
			}
		})
	}
}

func TestReconcileOrderIsSecretAndFresh(t *testing.T) {
	// The same items under the same session and two randomness sources
	// are sent in different orders: position k of the stream is not item k.
	x, y, _, _ := sets(t, 3, 200, 200, 20)
	a := newPair(t, BothLearn, x, y, 200, 100)
	b := newPair(t, BothLearn, x, y, 200, 200)
	if slices.Equal(a.req.perm, b.req.perm) || slices.Equal(a.resp.perm, b.resp.perm) {
		t.Fatal("two sessions drew the same secret order")
	}
	identity := 0
	for k, i := range a.req.perm {
		if int(i) == k {
			identity++
		}
	}
	if identity > 10 {
		t.Fatalf("%d of 200 items sent at their own index", identity)
	}
}

func TestReconcileStepErrors(t *testing.T) {
	x, y, _, _ := sets(t, 4, 100, 100, 10)
	t.Run("requester sends before phase 1", func(t *testing.T) {
		p := newPair(t, BothLearn, x, y, 50, 1)
		if _, err := p.req.OwnChunk(0); !errors.Is(err, ErrOutOfOrder) {
			t.Fatalf("err = %v, want ErrOutOfOrder", err)
		}
	})
	t.Run("no start", func(t *testing.T) {
		params := ReconParams{Mode: BothLearn, RequesterSize: 100, ResponderSize: 100}
		r, err := NewReconciler(RoleResponder, params, ItemSlice(y), testRand(1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.OwnChunk(0); !errors.Is(err, ErrCommitment) {
			t.Fatalf("err = %v, want ErrCommitment", err)
		}
	})
	t.Run("window", func(t *testing.T) {
		p := newPair(t, BothLearn, x, y, 10, 1)
		for seq := range uint32(MaxWindow) {
			if _, err := p.resp.OwnChunk(seq); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := p.resp.OwnChunk(MaxWindow); !errors.Is(err, ErrWindow) {
			t.Fatalf("err = %v, want ErrWindow", err)
		}
	})
	t.Run("wrong size", func(t *testing.T) {
		params := ReconParams{Mode: BothLearn, RequesterSize: 99, ResponderSize: 100}
		if _, err := NewReconciler(RoleRequester, params, ItemSlice(x), nil); !errors.Is(err, ErrCountMismatch) {
			t.Fatalf("err = %v, want ErrCountMismatch", err)
		}
	})
	t.Run("identity commitment", func(t *testing.T) {
		params := ReconParams{Mode: BothLearn, RequesterSize: 100, ResponderSize: 100}
		r, _ := NewReconciler(RoleRequester, params, ItemSlice(x), nil)
		if err := r.Start(Point{}); !errors.Is(err, ErrCommitment) {
			t.Fatalf("err = %v, want ErrCommitment", err)
		}
	})
}
