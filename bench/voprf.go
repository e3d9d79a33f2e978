package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"time"

	circl "github.com/cloudflare/circl/oprf"

	"github.com/riskmesh/riskmesh/bench/synth"
)

// circlVOPRF is the first baseline: circl's RFC 9497 VOPRF
// (ristretto255-SHA512) end to end in this process — blind, evaluate with
// one batched proof, verify and finalise — on the same identifiers as
// catalog PSI, without a catalog look-up. One provider.
type circlVOPRF struct {
	server circl.VerifiableServer
	client circl.VerifiableClient
}

func newCirclVOPRF() (*circlVOPRF, error) {
	key, err := circl.GenerateKey(circl.SuiteRistretto255, rand.Reader)
	if err != nil {
		return nil, err
	}
	return &circlVOPRF{
		server: circl.NewVerifiableServer(circl.SuiteRistretto255, key),
		client: circl.NewVerifiableClient(circl.SuiteRistretto255, key.Public()),
	}, nil
}

// query times the protocol, then checks the output of every listed item
// against the server's own evaluation of it (outside the timing, as it
// costs as much again): a catalog built from those outputs would find
// exactly them. Hits counts the listed items whose output checked.
func (s *circlVOPRF) query(ctx context.Context, b *synth.Batch, _ uint64) (sample, error) {
	inputs := itemBytes(b)
	start, cpu := time.Now(), processCPU()
	fin, req, err := s.client.Blind(inputs)
	if err != nil {
		return sample{}, err
	}
	ev, err := s.server.Evaluate(req)
	if err != nil {
		return sample{}, err
	}
	outputs, err := s.client.Finalize(fin, ev)
	if err != nil {
		return sample{}, err
	}
	m := sample{seconds: time.Since(start).Seconds(), cpu: processCPU() - cpu}
	for i := range b.Items {
		if len(b.Items[i].Hits) == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return sample{}, err
		}
		want, err := s.server.FullEvaluate(inputs[i])
		if err != nil {
			return sample{}, err
		}
		if !bytes.Equal(outputs[i], want) {
			return sample{}, fmt.Errorf("%w: circl VOPRF item %d: output differs from the full evaluation", ErrWrongResult, i)
		}
		m.hits++
	}
	return m, nil
}

func (s *circlVOPRF) close() error { return nil }
