package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// slowPhase bounds each phase of a benchmark exchange: a maximal ECDH-PSI
// session on a loaded 2-core machine takes minutes, far past node/peer's
// defaults for interactive requests.
const slowPhase = 10 * time.Minute

// ecdhPeer runs ECDH-PSI over node/peer on loopback: one QUIC server per
// provider answering ECDHRequest frames, one client connection to each
// (through a relay emulating a wide-area link, for the wan sweep).
// The headers are real transcript headers; signatures and transcripts are
// not kept (no node serves ECDH-PSI yet).
type ecdhPeer struct {
	servers []*peer.Server
	clients []*peer.Client
	relays  []func() error // one per server when the link is emulated
}

func newECDHPeer(ctx context.Context, w *workload, link *WAN) (s *ecdhPeer, err error) {
	s = &ecdhPeer{}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.close())
		}
	}()
	sets := listBytes(w)
	// Every certificate is known before the first server starts: the
	// servers read the membership concurrently.
	m := members{}
	reqCert, err := m.add(requesterMSP)
	if err != nil {
		return nil, err
	}
	certs := make([]tls.Certificate, len(sets))
	for i := range sets {
		if certs[i], err = m.add(providerMSP(i)); err != nil {
			return nil, err
		}
	}
	for i := range sets {
		msp := providerMSP(i)
		srv, err := peer.Listen(ctx, "127.0.0.1:0", peer.Config{
			Certificate:    certs[i],
			Authorizer:     m,
			Handler:        ecdhHandler(msp, sets[i]),
			ReadTimeout:    slowPhase,
			HandleTimeout:  slowPhase,
			WriteTimeout:   slowPhase,
			MaxRequestSize: riskmeshv1.MaxECDHRequestSize,
		})
		if err != nil {
			return nil, err
		}
		s.servers = append(s.servers, srv)
		addr, stop, err := expose(srv.Addr(), link)
		if err != nil {
			return nil, err
		}
		s.relays = append(s.relays, stop)
		c, err := peer.Dial(ctx, addr, peer.Config{Certificate: reqCert, Authorizer: m})
		if err != nil {
			return nil, err
		}
		s.clients = append(s.clients, c)
		if got := c.Peer().MSPID; got != msp {
			return nil, fmt.Errorf("dialled %s, reached %s", msp, got)
		}
	}
	return s, nil
}

// ecdhHandler answers ECDH-PSI message 1 addressed to msp over items.
func ecdhHandler(msp string, items [][]byte) peer.Handler {
	return func(_ context.Context, who peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		m := req.GetEcdh()
		if m == nil {
			return peerError(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, "only ECDH-PSI is served")
		}
		h, err := transcript.ParseHeader(m.GetHeader())
		if err != nil || h.Responder != msp || h.Requester != who.MSPID {
			return peerError(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, "header not addressed to this pair")
		}
		reply, err := ecdhRespond(m.GetHeader(), m.GetMessage(), items)
		if err != nil {
			return peerError(riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED, err.Error())
		}
		return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_EcdhReply{EcdhReply: &riskmeshv1.ECDHReply{Message: reply}}}
	}
}

func peerError(code riskmeshv1.ErrorCode, msg string) *riskmeshv1.PeerResponse {
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Error{Error: &riskmeshv1.PeerError{Code: code, Message: msg}}}
}

func (s *ecdhPeer) query(ctx context.Context, b *synth.Batch, seq uint64) (sample, error) {
	return timed(func() (int, error) {
		items := itemBytes(b)
		return eachProvider(ctx, len(s.clients), func(ctx context.Context, i int) (int, error) {
			return ecdhAsk(b, items, providerMSP(i), seq, func(header, request []byte) ([]byte, error) {
				resp, err := s.clients[i].Do(ctx, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_Ecdh{
					Ecdh: &riskmeshv1.ECDHRequest{Header: header, Message: request},
				}})
				if err != nil {
					return nil, err
				}
				reply := resp.GetEcdhReply()
				if reply == nil {
					return nil, fmt.Errorf("answer is not an ECDH-PSI reply")
				}
				return reply.GetMessage(), nil
			})
		})
	})
}

func (s *ecdhPeer) close() error {
	var errs []error
	for _, c := range s.clients {
		errs = append(errs, c.Close())
	}
	for _, srv := range s.servers {
		errs = append(errs, srv.Close())
	}
	for _, stop := range s.relays {
		errs = append(errs, stop())
	}
	return errors.Join(errs...)
}
