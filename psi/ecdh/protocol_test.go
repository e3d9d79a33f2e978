package ecdh

import (
	"errors"
	"testing"
)

var modes = []Mode{RequesterLearns, BothLearn}

func TestIntersection(t *testing.T) {
	tests := []struct {
		name          string
		n, m, overlap int
	}{
		{"empty both", 0, 0, 0},
		{"empty requester", 0, 5, 0},
		{"empty responder", 5, 0, 0},
		{"one shared", 1, 1, 1},
		{"one disjoint", 1, 1, 0},
		{"balanced 1000", 1000, 1000, 317},
		{"balanced 100 disjoint", 100, 100, 0},
		{"balanced 100 equal", 100, 100, 100},
		{"unbalanced small requester", 5, 300, 4},
		{"unbalanced small responder", 300, 5, 5},
	}
	for _, mode := range modes {
		for i, tt := range tests {
			t.Run(mode.String()+"/"+tt.name, func(t *testing.T) {
				seed := uint64(10 * i)
				x, y, wantX, wantY := sets(t, seed, tt.n, tt.m, tt.overlap)
				got := run(t, mode, []byte("test session"), x, y, seed)
				checkResult(t, "requester", got.requester, wantX, tt.m)
				if mode == BothLearn {
					checkResult(t, "responder", got.responder, wantY, tt.n)
				}
			})
		}
	}
}

// Points from one session are useless in another: the hash to the group
// depends on the context, so even a responder tricked into accepting a
// foreign request (its session field rewritten) yields no matches.
func TestSessionSeparation(t *testing.T) {
	x, y, _, _ := sets(t, 1, 50, 50, 50)
	req, err := NewRequester(RequesterLearns, []byte("session A"), x, testRand(1))
	if err != nil {
		t.Fatal(err)
	}
	m1, err := req.Request()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("responder rejects foreign session", func(t *testing.T) {
		resp, err := NewResponder(RequesterLearns, []byte("session B"), y, testRand(2))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := resp.Answer(m1); !errors.Is(err, ErrSessionMismatch) {
			t.Fatalf("Answer = %v, want ErrSessionMismatch", err)
		}
	})
	t.Run("rewritten session id finds nothing", func(t *testing.T) {
		resp, err := NewResponder(RequesterLearns, []byte("session B"), y, testRand(2))
		if err != nil {
			t.Fatal(err)
		}
		forged := *m1
		forged.Session = NewSessionID([]byte("session B"))
		m2, err := resp.Answer(&forged)
		if err != nil {
			t.Fatal(err)
		}
		m2.Session = m1.Session // rewrite back so the requester accepts it
		res, _, err := req.Finish(m2)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Matches) != 0 {
			t.Fatalf("cross-session run matched %d of 50 shared items, want 0", len(res.Matches))
		}
	})
}

func TestStepOrder(t *testing.T) {
	x, y, _, _ := sets(t, 3, 4, 4, 2)
	newPair := func(t *testing.T, mode Mode) (*Requester, *Responder) {
		t.Helper()
		req, err := NewRequester(mode, nil, x, testRand(3))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := NewResponder(mode, nil, y, testRand(4))
		if err != nil {
			t.Fatal(err)
		}
		return req, resp
	}
	t.Run("Request twice", func(t *testing.T) {
		req, _ := newPair(t, BothLearn)
		if _, err := req.Request(); err != nil {
			t.Fatal(err)
		}
		if _, err := req.Request(); !errors.Is(err, ErrOutOfOrder) {
			t.Fatalf("second Request = %v, want ErrOutOfOrder", err)
		}
	})
	t.Run("Finish before Request", func(t *testing.T) {
		req, _ := newPair(t, BothLearn)
		if _, _, err := req.Finish(&Reply{Mode: BothLearn}); !errors.Is(err, ErrOutOfOrder) {
			t.Fatalf("Finish = %v, want ErrOutOfOrder", err)
		}
	})
	t.Run("Answer twice", func(t *testing.T) {
		req, resp := newPair(t, BothLearn)
		m1, err := req.Request()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := resp.Answer(m1); err != nil {
			t.Fatal(err)
		}
		if _, err := resp.Answer(m1); !errors.Is(err, ErrOutOfOrder) {
			t.Fatalf("second Answer = %v, want ErrOutOfOrder", err)
		}
	})
	t.Run("responder Finish in RequesterLearns", func(t *testing.T) {
		req, resp := newPair(t, RequesterLearns)
		m1, err := req.Request()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := resp.Answer(m1); err != nil {
			t.Fatal(err)
		}
		if _, err := resp.Finish(&Return{Mode: RequesterLearns}); !errors.Is(err, ErrOutOfOrder) {
			t.Fatalf("Finish = %v, want ErrOutOfOrder", err)
		}
	})
	t.Run("failed Finish ends the session", func(t *testing.T) {
		req, resp := newPair(t, BothLearn)
		m1, err := req.Request()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := resp.Answer(m1)
		if err != nil {
			t.Fatal(err)
		}
		bad := *m2
		bad.Remasked = bad.Remasked[1:]
		if _, _, err := req.Finish(&bad); !errors.Is(err, ErrCountMismatch) {
			t.Fatalf("Finish = %v, want ErrCountMismatch", err)
		}
		if _, _, err := req.Finish(m2); !errors.Is(err, ErrOutOfOrder) {
			t.Fatalf("retry = %v, want ErrOutOfOrder", err)
		}
	})
}

func TestConstructorErrors(t *testing.T) {
	t.Run("unknown mode", func(t *testing.T) {
		if _, err := NewRequester(Mode(7), nil, nil, nil); !errors.Is(err, ErrMode) {
			t.Errorf("NewRequester = %v, want ErrMode", err)
		}
		if _, err := NewResponder(0, nil, nil, nil); !errors.Is(err, ErrMode) {
			t.Errorf("NewResponder = %v, want ErrMode", err)
		}
	})
	t.Run("failing randomness", func(t *testing.T) {
		if _, err := NewRequester(BothLearn, nil, nil, failingReader{}); err == nil {
			t.Error("NewRequester succeeded with a failing reader")
		}
	})
	t.Run("duplicate requester items", func(t *testing.T) {
		req, err := NewRequester(BothLearn, nil, [][]byte{[]byte("a"), []byte("b"), []byte("a")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := req.Request(); !errors.Is(err, ErrDuplicateItem) {
			t.Fatalf("Request = %v, want ErrDuplicateItem", err)
		}
	})
	t.Run("duplicate responder items", func(t *testing.T) {
		req, err := NewRequester(BothLearn, nil, [][]byte{[]byte("a")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		m1, err := req.Request()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := NewResponder(BothLearn, nil, [][]byte{[]byte("x"), []byte("y"), []byte("x")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = resp.Answer(m1)
		if !errors.Is(err, ErrDuplicateItem) || err.Error() != "ecdh: duplicate item in set: items 0 and 2" {
			t.Fatalf("Answer = %v, want ErrDuplicateItem naming items 0 and 2", err)
		}
	})
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// Tampering with points that still decode cannot be detected; it changes the
// receiver's result, but only within the receiver's own items. These tests
// pin down that bound.
func TestTamperedValidPoints(t *testing.T) {
	// Items 0 and 1 of x; only x[0] is shared with y.
	x := [][]byte{[]byte("shared"), []byte("requester only"), []byte("other")}
	y := [][]byte{[]byte("responder only"), []byte("shared")}
	session := func(t *testing.T) (*Requester, *Responder, *Reply) {
		t.Helper()
		req, err := NewRequester(BothLearn, nil, x, testRand(5))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := NewResponder(BothLearn, nil, y, testRand(6))
		if err != nil {
			t.Fatal(err)
		}
		m1, err := req.Request()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := resp.Answer(m1)
		if err != nil {
			t.Fatal(err)
		}
		return req, resp, m2
	}

	t.Run("swapped remasked points move the match", func(t *testing.T) {
		req, _, m2 := session(t)
		m2.Remasked[0], m2.Remasked[1] = m2.Remasked[1], m2.Remasked[0]
		res, _, err := req.Finish(m2)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, "requester", res, []int{1}, 2)
	})
	t.Run("replaced remasked point drops the match", func(t *testing.T) {
		req, _, m2 := session(t)
		m2.Remasked[0] = m2.Remasked[2]
		res, _, err := req.Finish(m2)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, "requester", res, []int{}, 2)
	})
	t.Run("duplicated responder point is rejected", func(t *testing.T) {
		req, _, m2 := session(t)
		m2.Masked[0] = m2.Masked[1]
		if _, _, err := req.Finish(m2); !errors.Is(err, ErrDuplicatePoint) {
			t.Fatalf("Finish = %v, want ErrDuplicatePoint", err)
		}
	})
	t.Run("forged return claims at most the responder's own items", func(t *testing.T) {
		req, resp, m2 := session(t)
		_, m3, err := req.Finish(m2)
		if err != nil {
			t.Fatal(err)
		}
		// A cheating requester copies double-masked values it received for
		// its own non-shared items into every position: the responder cannot
		// tell, and reports all its items, but never more than its own set.
		m3.Remasked[0], m3.Remasked[1] = m2.Remasked[1], m2.Remasked[2]
		res, err := resp.Finish(m3)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, "responder", res, []int{0, 1}, 3)
	})
	t.Run("a requester point matching twice is rejected", func(t *testing.T) {
		req, resp, m2 := session(t)
		_, m3, err := req.Finish(m2)
		if err != nil {
			t.Fatal(err)
		}
		m3.Remasked[0], m3.Remasked[1] = m2.Remasked[0], m2.Remasked[0]
		if _, err := resp.Finish(m3); !errors.Is(err, ErrDuplicatePoint) {
			t.Fatalf("Finish = %v, want ErrDuplicatePoint", err)
		}
	})
}

// Messages built in memory, not parsed, are validated by the step that
// exponentiates them.
func TestUnparsedInvalidPoints(t *testing.T) {
	tests := []struct {
		name  string
		point Point
		want  error
	}{
		{"identity", Point{}, ErrIdentityPoint},
		{"negative field element", Point{1}, ErrInvalidPoint},
		{"non-canonical", Point{0xed, 31: 0x7f}, ErrInvalidPoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := NewResponder(RequesterLearns, nil, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			valid := mustRequest(t, 3)
			valid.Masked[2] = tt.point
			_, err = resp.Answer(valid)
			var pe *PointError
			if !errors.As(err, &pe) || pe.Field != "Request.Masked" || pe.Index != 2 || !errors.Is(err, tt.want) {
				t.Fatalf("Answer = %v, want %v at Request.Masked[2]", err, tt.want)
			}
		})
	}
}

// mustRequest returns a valid Request for n items under the nil context.
func mustRequest(t testing.TB, n int) *Request {
	t.Helper()
	x, _, _, _ := sets(t, 9, n, 0, 0)
	req, err := NewRequester(RequesterLearns, nil, x, testRand(9))
	if err != nil {
		t.Fatal(err)
	}
	m1, err := req.Request()
	if err != nil {
		t.Fatal(err)
	}
	return m1
}

func TestNilMessages(t *testing.T) {
	req, err := NewRequester(BothLearn, nil, [][]byte{[]byte("a")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := NewResponder(BothLearn, nil, [][]byte{[]byte("a")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resp.Answer(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("Answer(nil) = %v, want ErrMalformed", err)
	}
	if _, err := req.Request(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := req.Finish(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("Finish(nil) = %v, want ErrMalformed", err)
	}
}
