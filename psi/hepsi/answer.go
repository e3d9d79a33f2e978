package hepsi

import (
	"crypto/rand"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"runtime"
	"sync"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/bgv"
)

// Answer evaluates every bundle's polynomials on the query's encrypted
// items and returns the ciphertexts, switched down to the smallest modulus.
// Each matching result is multiplied by a fresh random nonzero plaintext,
// so a non-member's slots decrypt to uniform nonzero values rather than to
// the polynomial's value, which depends on the provider's items. rnd (nil:
// crypto/rand) supplies those masks.
func (db *Database) Answer(rnd io.Reader, q *Query) (*Answer, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	s := db.s
	if q.s.digest != s.digest {
		return nil, fmt.Errorf("%w: query under other parameters", ErrMismatch)
	}
	qd := q.Digest()
	if len(q.c0) != s.p.Rows*len(s.plan.sources) {
		return nil, fmt.Errorf("%w: %d query ciphertexts", ErrMalformed, len(q.c0))
	}
	rlk := q.rlk
	if q.key != nil {
		rlk = q.key.rlk
	}
	if rlk == nil {
		return nil, fmt.Errorf("%w: resolve the query with a KeyCache first", ErrUnknownKey)
	}
	eval := bgv.NewEvaluator(s.bgv, rlwe.NewMemEvaluationKeySet(rlk))
	c1, err := s.expandC1(q.seed, len(q.c0))
	if err != nil {
		return nil, err
	}

	db.mu.RLock()
	defer db.mu.RUnlock()

	powers := make([]map[int]*rlwe.Ciphertext, s.p.Rows)
	for row := range powers {
		srcs := make([]*rlwe.Ciphertext, len(s.plan.sources))
		for k := range srcs {
			ct := bgv.NewCiphertext(s.bgv, 1, s.bgv.MaxLevel())
			ct.Value[0].Copy(q.c0[row*len(srcs)+k])
			ct.Value[1] = c1[row*len(srcs)+k]
			srcs[k] = ct
		}
		if powers[row], err = s.computePowers(eval, srcs); err != nil {
			return nil, err
		}
	}

	type job struct {
		row, bundle, poly int
		seed              [32]byte
	}
	var jobs []job
	a := &Answer{QueryDigest: qd, Rows: make([][][]*rlwe.Ciphertext, s.p.Rows), s: s}
	for row, bundles := range db.rows {
		a.Rows[row] = make([][]*rlwe.Ciphertext, len(bundles))
		for k := range bundles {
			a.Rows[row][k] = make([]*rlwe.Ciphertext, 1+s.labelParts)
			for poly := 0; poly <= s.labelParts; poly++ {
				j := job{row: row, bundle: k, poly: poly}
				if poly == 0 {
					if _, err := io.ReadFull(rnd, j.seed[:]); err != nil {
						return nil, fmt.Errorf("hepsi: read randomness: %w", err)
					}
				}
				jobs = append(jobs, j)
			}
		}
	}
	work := make(chan job)
	errs := make(chan error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := &polyEval{s: s, eval: eval.ShallowCopy(), ecd: bgv.NewEncoder(s.bgv), buf: make([]uint64, s.slots)}
			for j := range work {
				bu := db.rows[j.row][j.bundle]
				ev.mask = nil
				if j.poly == 0 {
					ev.randomMask(j.seed)
				}
				var encoded []*rlwe.Plaintext
				if bu.encoded != nil {
					encoded = bu.encoded[j.poly]
				}
				ct, err := ev.evaluate(powers[j.row], bu.coef[j.poly], encoded, s.degree(bu))
				if err != nil {
					select {
					case errs <- err:
					default: // one error is enough
					}
					continue
				}
				a.Rows[j.row][j.bundle][j.poly] = ct
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("hepsi: evaluate: %w", err)
	}
	return a, nil
}

// computePowers derives every power the plan needs from the sources (one
// relinearized product and one rescale each) and brings the sources down
// to the same level.
func (s *scheme) computePowers(eval *bgv.Evaluator, srcs []*rlwe.Ciphertext) (map[int]*rlwe.Ciphertext, error) {
	powers := make(map[int]*rlwe.Ciphertext, len(srcs)+len(s.plan.derived))
	for k, p := range s.plan.sources {
		powers[p] = srcs[k]
	}
	type pair struct {
		p  int
		ab [2]int
	}
	var todo []pair
	for p, ab := range s.plan.derived {
		todo = append(todo, pair{p, ab})
	}
	out := make([]*rlwe.Ciphertext, len(todo))
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	workers := runtime.GOMAXPROCS(0)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ev := eval.ShallowCopy()
			for i := w; i < len(todo); i += workers {
				ct, err := ev.MulRelinNew(powers[todo[i].ab[0]], powers[todo[i].ab[1]])
				if err == nil {
					err = ev.Rescale(ct, ct)
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				out[i] = ct
			}
		}(w)
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	for _, ct := range srcs {
		eval.DropLevel(ct, 1)
	}
	for i, t := range todo {
		powers[t.p] = out[i]
	}
	return powers, nil
}

// polyEval is one worker's evaluator, encoder and buffers.
type polyEval struct {
	s    *scheme
	eval *bgv.Evaluator
	ecd  *bgv.Encoder
	buf  []uint64
	// mask, when set, multiplies every coefficient slot-wise: it turns
	// p(x) into r·p(x) at no cost in noise.
	mask  []uint64
	masks []uint64
	pts   [2]*rlwe.Plaintext
}

// plaintext encodes a coefficient vector at the given level and scale into
// the worker's buffer k (0 for the terms, 1 for the constant).
func (e *polyEval) plaintext(k int, coef []uint32, level int, scale uint64) (*rlwe.Plaintext, error) {
	for i, c := range coef {
		e.buf[i] = uint64(c)
	}
	if e.mask != nil {
		for i := range e.buf {
			e.buf[i] = e.s.t.mul(e.buf[i], e.mask[i])
		}
	}
	if e.pts[k] == nil || e.pts[k].Level() != level {
		e.pts[k] = bgv.NewPlaintext(e.s.bgv, level)
	}
	pt := e.pts[k]
	pt.Scale = e.s.bgv.NewScale(scale)
	return pt, e.ecd.Encode(e.buf, pt)
}

// encodeInto encodes a coefficient vector, unmasked, into pt at scale.
func (e *polyEval) encodeInto(pt *rlwe.Plaintext, coef []uint32, scale uint64) error {
	for i, c := range coef {
		e.buf[i] = uint64(c)
	}
	pt.Scale = e.s.bgv.NewScale(scale)
	return e.ecd.Encode(e.buf, pt)
}

// evaluate computes Σ_i x^{i·L}·q_i(x) (Paterson-Stockmeyer) with degree ≤
// deg, scaling every plaintext so that all terms meet at scale 1 and no
// scale matching is needed, relinearizes once and rescales to level 0.
//
// encoded, when not nil, holds the coefficient vectors already encoded at
// the scales coefScale predicts; it is used only if the powers' scales are
// the predicted ones.
func (e *polyEval) evaluate(powers map[int]*rlwe.Ciphertext, coef [][]uint32, encoded []*rlwe.Plaintext, deg int) (*rlwe.Ciphertext, error) {
	s, t := e.s, e.s.t
	low := s.plan.low
	level := s.bgv.MaxLevel() - 1
	acc := bgv.NewCiphertext(s.bgv, 2, level)
	acc.Scale = s.bgv.NewScale(1)
	if encoded != nil && !s.predictedScales(powers) {
		encoded = nil
	}
	for i := 0; i*low <= deg; i++ {
		hi := i * low
		sigma := uint64(1)
		if i > 0 {
			sigma = t.inv(powers[hi].Scale.Uint64())
		}
		var inner *rlwe.Ciphertext
		for j := 1; j < low && hi+j <= deg; j++ {
			if zero32(coef[hi+j]) {
				continue
			}
			x := powers[j]
			var pt *rlwe.Plaintext
			var err error
			if encoded != nil && encoded[hi+j] != nil {
				pt = encoded[hi+j]
			} else if pt, err = e.plaintext(0, coef[hi+j], level, t.mul(sigma, t.inv(x.Scale.Uint64()))); err != nil {
				return nil, err
			}
			if inner == nil {
				inner = bgv.NewCiphertext(s.bgv, 1, level)
				err = e.eval.Mul(x, pt, inner)
			} else {
				err = e.eval.MulThenAdd(x, pt, inner)
			}
			if err != nil {
				return nil, err
			}
		}
		var constant *rlwe.Plaintext
		if !zero32(coef[hi]) {
			if encoded != nil && encoded[hi] != nil {
				constant = encoded[hi]
			} else {
				pt, err := e.plaintext(1, coef[hi], level, sigma)
				if err != nil {
					return nil, err
				}
				constant = pt
			}
		}
		var err error
		switch {
		case i == 0:
			if inner != nil {
				err = e.eval.Add(acc, inner, acc)
			}
			if err == nil && constant != nil {
				err = e.eval.Add(acc, constant, acc)
			}
		case inner != nil:
			if constant != nil {
				err = e.eval.Add(inner, constant, inner)
			}
			if err == nil {
				err = e.eval.MulThenAdd(inner, powers[hi], acc)
			}
		case constant != nil:
			err = e.eval.MulThenAdd(powers[hi], constant, acc)
		}
		if err != nil {
			return nil, err
		}
	}
	out := bgv.NewCiphertext(s.bgv, 1, level)
	if err := e.eval.Relinearize(acc, out); err != nil {
		return nil, err
	}
	for out.Level() > 0 {
		if err := e.eval.Rescale(out, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// randomMask sets a mask of uniform nonzero slots drawn from seed.
func (e *polyEval) randomMask(seed [32]byte) {
	if e.masks == nil {
		e.masks = make([]uint64, e.s.slots)
	}
	r := mrand.New(mrand.NewChaCha8(seed))
	for i := range e.masks {
		e.masks[i] = 1 + r.Uint64N(e.s.p.PlainModulus-1)
	}
	e.mask = e.masks
}

func zero32(v []uint32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// powerScale is the scale every power has when the provider computes it:
// 1 for a source (a fresh encryption), q_top^{-1} mod t for a product of
// two sources after its rescale.
func (s *scheme) powerScale(p int) uint64 {
	if _, derived := s.plan.derived[p]; !derived {
		return 1
	}
	return s.t.inv(s.p.Q[len(s.p.Q)-1] % s.p.PlainModulus)
}

// coefScale is the scale evaluate gives coefficient k's plaintext, so that
// every term of the sum meets at scale 1.
func (s *scheme) coefScale(k int) uint64 {
	i, j := k/s.plan.low, k%s.plan.low
	sigma := uint64(1)
	if i > 0 {
		sigma = s.t.inv(s.powerScale(i * s.plan.low))
	}
	if j == 0 {
		return sigma
	}
	return s.t.mul(sigma, s.t.inv(s.powerScale(j)))
}

// predictedScales reports whether the computed powers carry the scales
// powerScale predicts, as they do for every well-formed query.
func (s *scheme) predictedScales(powers map[int]*rlwe.Ciphertext) bool {
	for p, ct := range powers {
		if ct.Scale.Uint64() != s.powerScale(p) {
			return false
		}
	}
	return true
}
