package peer

import (
	"sync"

	"github.com/quic-go/quic-go"
)

// heldCredit keeps back the stream credit of a connection's last answered
// stream until the connection's next answer.
//
// quic-go grants a peer a new stream (a MAX_STREAMS frame) as soon as one
// of its streams completes, which for an answered request is when the
// peer's acknowledgment of the answer arrives. Granted at that moment, the
// frame leaves in a packet of its own, and since it must be acknowledged
// the peer answers it with a second packet: four packets per exchange
// where two carry the request and the answer. Kept back until the next
// answer is written (quic.Config.RequireStreamCreditRelease), the grant
// travels in that answer's packet, and the peer's acknowledgment of the
// answer rides on its next request: a connection that carries one request
// after another sends two packets per exchange.
//
// The credit kept back is exactly one stream, so the server grants one
// more than Config.MaxStreams (see Config.quicConfig): after its first
// answer a connection has MaxStreams streams for requests, as before.
type heldCredit struct {
	mu   sync.Mutex
	last *quic.Stream
}

// answered keeps str's credit back and releases the one kept before it.
// Call it once per accepted stream, after the stream's answer (or refusal)
// is written and the stream closed.
func (h *heldCredit) answered(str *quic.Stream) {
	h.mu.Lock()
	prev := h.last
	h.last = str
	h.mu.Unlock()
	if prev != nil {
		prev.ReleaseStreamCredit()
	}
}
