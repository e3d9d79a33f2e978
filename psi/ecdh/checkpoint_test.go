package ecdh

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// durable is one side as its node would keep it: the reconciler, its set
// log, its last checkpoint and the matches it has delivered.
type durable struct {
	r          *Reconciler
	items      ItemSlice
	log        bytes.Buffer
	checkpoint []byte
	matches    []int
}

func (d *durable) save(t *testing.T) {
	t.Helper()
	cp, err := d.r.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	d.checkpoint = cp
}

// crash replaces the reconciler by one resumed from the last checkpoint
// and the log truncated to what that checkpoint covers.
func (d *durable) crash(t *testing.T, seed uint64) {
	t.Helper()
	r, err := Resume(d.checkpoint, d.items, bytes.NewReader(d.log.Bytes()), testRand(seed))
	if err != nil {
		t.Fatalf("Resume: %v", err)
	}
	d.log.Truncate(int(r.LogSize()))
	r.SetLog(&d.log)
	d.r = r
}

// TestResumeAfterCrash crashes one side after every acknowledged round
// trip in turn and checks the reconciliation still ends with exactly the
// planted intersection on both sides.
func TestResumeAfterCrash(t *testing.T) {
	const n, m, chunk = 100, 70, 32
	x, y, wantX, wantY := sets(t, 21, n, m, 25)
	rounds := (m+chunk-1)/chunk + (n+chunk-1)/chunk
	for _, mode := range []Mode{BothLearn, RequesterLearns} {
		for crashAt := range rounds {
			for _, who := range []Role{RoleRequester, RoleResponder} {
				p := newPair(t, mode, x, y, chunk, uint64(crashAt))
				req := &durable{r: p.req, items: x}
				resp := &durable{r: p.resp, items: y}
				req.r.SetLog(&req.log)
				resp.r.SetLog(&resp.log)
				round := 0
				after := func() {
					req.save(t)
					resp.save(t)
					if round == crashAt {
						d := req
						if who == RoleResponder {
							d = resp
						}
						d.crash(t, uint64(1000+crashAt))
					}
					round++
				}
				for seq := range uint32(resp.r.chunks(m)) {
					c, err := resp.r.OwnChunk(seq)
					if err != nil {
						t.Fatal(err)
					}
					ret, _, err := req.r.Answer(wire[*Chunk, *Chunk](t, c))
					if err != nil {
						t.Fatal(err)
					}
					if mode == BothLearn {
						m, err := resp.r.Accept(wire[*Chunk, *Chunk](t, ret))
						if err != nil {
							t.Fatal(err)
						}
						resp.matches = append(resp.matches, m...)
					}
					after()
				}
				for seq := range uint32(req.r.chunks(n)) {
					c, err := req.r.OwnChunk(seq)
					if err != nil {
						t.Fatal(err)
					}
					reply, m, err := resp.r.Answer(wire[*Chunk, *Chunk](t, c))
					if err != nil {
						t.Fatal(err)
					}
					resp.matches = append(resp.matches, m...)
					m, err = req.r.Accept(wire[*Chunk, *Chunk](t, reply))
					if err != nil {
						t.Fatal(err)
					}
					req.matches = append(req.matches, m...)
					after()
				}
				slices.Sort(req.matches)
				slices.Sort(resp.matches)
				wy := wantY
				if mode == RequesterLearns {
					wy = nil
				}
				if !slices.Equal(req.matches, wantX) || !slices.Equal(resp.matches, wy) || !req.r.Done() || !resp.r.Done() {
					t.Fatalf("%v, %v crashed after round %d: requester %v, responder %v", mode, who, crashAt, req.matches, resp.matches)
				}
			}
		}
	}
}

// TestRewind plays a lost reply: the requester resends its chunk after a
// reconnection and the responder answers it again, but only if it is the
// same chunk, and without counting its matches twice.
func TestRewind(t *testing.T) {
	x, y, wantX, wantY := sets(t, 22, 64, 64, 64)
	p := newPair(t, BothLearn, x, y, 32, 5)
	for seq := range uint32(2) {
		c, _ := p.resp.OwnChunk(seq)
		ret, _, err := p.req.Answer(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.resp.Accept(ret); err != nil {
			t.Fatal(err)
		}
	}
	c0, err := p.req.OwnChunk(0)
	if err != nil {
		t.Fatal(err)
	}
	_, first, err := p.resp.Answer(wire[*Chunk, *Chunk](t, c0)) // the reply is lost
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 32 {
		t.Fatalf("responder matched %d of chunk 0, want 32", len(first))
	}

	t.Run("resend without rewind is a replay", func(t *testing.T) {
		q := newPair(t, BothLearn, x, y, 32, 5)
		*q.req, *q.resp = *p.req, *p.resp
		q.resp.outstanding = map[uint32]ownChunk{}
		if _, _, err := q.resp.Answer(wire[*Chunk, *Chunk](t, c0)); !errors.Is(err, ErrReplay) {
			t.Fatalf("err = %v, want ErrReplay", err)
		}
	})
	t.Run("changed resend is a replay", func(t *testing.T) {
		q := newPair(t, BothLearn, x, y, 32, 5)
		*q.req, *q.resp = *p.req, *p.resp
		if err := q.resp.Rewind(0); err != nil {
			t.Fatal(err)
		}
		changed := wire[*Chunk, *Chunk](t, c0)
		changed.Points[0], changed.Points[1] = changed.Points[1], changed.Points[0]
		if _, _, err := q.resp.Answer(changed); !errors.Is(err, ErrReplay) {
			t.Fatalf("err = %v, want ErrReplay", err)
		}
	})

	if err := p.resp.Rewind(0); err != nil {
		t.Fatal(err)
	}
	again, err := p.req.OwnChunk(0)
	if err != nil {
		t.Fatal(err)
	}
	reply, dup, err := p.resp.Answer(wire[*Chunk, *Chunk](t, again))
	if err != nil {
		t.Fatal(err)
	}
	if len(dup) != 0 {
		t.Fatalf("resent chunk matched %d again", len(dup))
	}
	m0, err := p.req.Accept(reply)
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := p.req.OwnChunk(1)
	reply1, second, err := p.resp.Answer(c1)
	if err != nil {
		t.Fatal(err)
	}
	m1, err := p.req.Accept(reply1)
	if err != nil {
		t.Fatal(err)
	}
	gotX := slices.Sorted(slices.Values(append(m0, m1...)))
	gotY := slices.Sorted(slices.Values(append(first, second...)))
	if !slices.Equal(gotX, wantX) || !slices.Equal(gotY, wantY) {
		t.Fatalf("after rewind: requester %d matches, responder %d, want %d and %d", len(gotX), len(gotY), len(wantX), len(wantY))
	}
}

func TestResumeRejects(t *testing.T) {
	x, y, _, _ := sets(t, 23, 100, 100, 10)
	p := newPair(t, BothLearn, x, y, 10, 7)
	var log bytes.Buffer
	p.req.SetLog(&log)
	c, _ := p.resp.OwnChunk(0)
	if _, _, err := p.req.Answer(c); err != nil {
		t.Fatal(err)
	}
	cp, err := p.req.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		cp    []byte
		items Items
		log   []byte
	}{
		{"short log", cp, ItemSlice(x), log.Bytes()[:log.Len()-1]},
		{"other items", cp, ItemSlice(x[:99]), log.Bytes()},
		{"trailing byte", append(slices.Clone(cp), 0), ItemSlice(x), log.Bytes()},
		{"truncated", cp[:len(cp)-1], ItemSlice(x), log.Bytes()},
		{"zero secret", withSecret(t, cp, [32]byte{}), ItemSlice(x), log.Bytes()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Resume(tc.cp, tc.items, bytes.NewReader(tc.log), nil); !errors.Is(err, ErrCheckpoint) {
				t.Fatalf("err = %v, want ErrCheckpoint", err)
			}
		})
	}
	t.Run("resumed state re-encodes", func(t *testing.T) {
		r, err := Resume(cp, ItemSlice(x), bytes.NewReader(log.Bytes()), nil)
		if err != nil {
			t.Fatal(err)
		}
		again, err := r.Checkpoint()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, cp) {
			t.Fatal("checkpoint of a resumed reconciler differs")
		}
		if r.Commitment() != p.req.Commitment() {
			t.Fatal("resumed commitment differs")
		}
	})
}

// withSecret returns cp with its secret scalar replaced.
func withSecret(t *testing.T, cp []byte, secret [32]byte) []byte {
	t.Helper()
	ctx := int(cp[3])<<8 | int(cp[4])
	off := 5 + ctx + 12
	out := slices.Clone(cp)
	copy(out[off:off+32], secret[:])
	return out
}
