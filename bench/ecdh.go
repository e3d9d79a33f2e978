package bench

import (
	"context"
	"fmt"

	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/psi/ecdh"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// requesterMSP is the institution that asks in every benchmark.
const requesterMSP = "BenchRequesterMSP"

// ecdhHeader is the transcript header of one ECDH-PSI session: its
// encoding is the session context both parties derive the session id from.
func ecdhHeader(responder string, seq uint64, count int) ([]byte, error) {
	h := transcript.Header{
		Protocol:  transcript.ProtocolECDHRequesterLearns,
		Suite:     transcript.SuiteRistretto255SHA512,
		Category:  category.String(),
		Period:    period,
		Requester: requesterMSP,
		Responder: responder,
		Sequence:  seq,
		Count:     uint32(count),
	}
	return h.MarshalBinary()
}

// ecdhRespond is a responder's whole part of a session: decode message 1,
// answer over items, encode message 2.
func ecdhRespond(header, request []byte, items [][]byte) ([]byte, error) {
	var m1 ecdh.Request
	if err := m1.UnmarshalBinary(request); err != nil {
		return nil, err
	}
	resp, err := ecdh.NewResponder(ecdh.RequesterLearns, header, items, nil)
	if err != nil {
		return nil, err
	}
	m2, err := resp.Answer(&m1)
	if err != nil {
		return nil, err
	}
	return m2.MarshalBinary()
}

// ecdhAsk is the requester's whole part of a session with one provider:
// send carries message 1 and returns message 2. It returns the hits after
// checking them against b.
func ecdhAsk(b *synth.Batch, items [][]byte, msp string, seq uint64,
	send func(header, request []byte) ([]byte, error)) (int, error) {
	header, err := ecdhHeader(msp, seq, len(items))
	if err != nil {
		return 0, err
	}
	req, err := ecdh.NewRequester(ecdh.RequesterLearns, header, items, nil)
	if err != nil {
		return 0, err
	}
	m1, err := req.Request()
	if err != nil {
		return 0, err
	}
	wire1, err := m1.MarshalBinary()
	if err != nil {
		return 0, err
	}
	wire2, err := send(header, wire1)
	if err != nil {
		return 0, fmt.Errorf("ask %s: %w", msp, err)
	}
	var m2 ecdh.Reply
	if err := m2.UnmarshalBinary(wire2); err != nil {
		return 0, fmt.Errorf("reply of %s: %w", msp, err)
	}
	res, _, err := req.Finish(&m2)
	if err != nil {
		return 0, fmt.Errorf("reply of %s: %w", msp, err)
	}
	hit := make([]bool, len(items))
	for _, i := range res.Matches {
		hit[i] = true
	}
	return checkProvider(b, msp, hit, nil)
}

// listBytes returns the canonical encodings of every list's identifiers,
// the responders' ECDH-PSI sets.
func listBytes(w *workload) [][][]byte {
	sets := make([][][]byte, len(w.lists))
	for i := range w.lists {
		es := w.entries(i)
		sets[i] = make([][]byte, len(es))
		for j := range es {
			sets[i][j] = es[j].ID.AppendTo(nil)
		}
	}
	return sets
}

// ecdhInProcess runs ECDH-PSI with both parties in this process, through
// the wire encodings.
type ecdhInProcess struct {
	sets [][][]byte
}

func newECDHInProcess(w *workload) *ecdhInProcess { return &ecdhInProcess{sets: listBytes(w)} }

func (s *ecdhInProcess) query(ctx context.Context, b *synth.Batch, seq uint64) (sample, error) {
	return timed(func() (int, error) {
		items := itemBytes(b)
		return eachProvider(ctx, len(s.sets), func(ctx context.Context, i int) (int, error) {
			return ecdhAsk(b, items, providerMSP(i), seq, func(header, request []byte) ([]byte, error) {
				return ecdhRespond(header, request, s.sets[i])
			})
		})
	})
}

func (s *ecdhInProcess) close() error { return nil }
