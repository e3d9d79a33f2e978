package oprf

import (
	"fmt"

	"filippo.io/edwards25519"
	r255 "github.com/bwesterb/go-ristretto"
	"github.com/gtank/ristretto255"

	"github.com/riskmesh/riskmesh/internal/xmd"
	"github.com/riskmesh/riskmesh/psi/internal/ristretto"
)

// Blinding is how a Client hides its inputs from the evaluator. Both
// blindings give byte-identical outputs and leave the evaluator's side, its
// proof and RFC 9497 interoperability of the evaluation unchanged; they
// differ in what the client must know and what it computes.
// docs/protocol.md ("Blinding") has the security argument.
type Blinding uint8

const (
	// BlindMultiplicative is RFC 9497 Blind: D = r·H(x), and Finalize
	// unblinds with (1/r)·C. It needs no key, so it is the one to use when
	// the evaluator's key is not known in advance; it costs two
	// variable-base multiplications per input (the inversions are
	// batched).
	BlindMultiplicative Blinding = iota + 1
	// BlindAdditive sends D = H(x) + r·B, B = t·G the tweaked public key
	// (t = skS + m, m the info scalar). The evaluator returns
	// C = (1/t)·D = (1/t)·H(x) + r·G, and Finalize, after the proof has
	// shown that C was computed under B, unblinds with C − r·G. Both
	// multiplications are fixed-base: r·B from a table of B the Client
	// builds once, r·G from the library's table of the generator. It is
	// only sound when B comes from a verified key (the ledger's) and the
	// proof is checked before unblinding, which Finalize always does.
	BlindAdditive
)

// Valid reports whether b is a blinding this package implements.
func (b Blinding) Valid() bool { return b == BlindMultiplicative || b == BlindAdditive }

func (b Blinding) String() string {
	switch b {
	case BlindMultiplicative:
		return "multiplicative"
	case BlindAdditive:
		return "additive"
	}
	return fmt.Sprintf("blinding(%d)", uint8(b))
}

// buildTable computes the fixed-base table of B for additive blinding.
// go-ristretto's table is the library's own precomputation for a base
// other than the generator; its ScalarMultTable selects entries with
// constant-time conditional moves, so r·B runs in constant time in r.
func (c *Client) buildTable() {
	var b r255.Point
	// bEnc is the encoding of a valid element (newClient computed it).
	b.SetBytes(&c.bEnc)
	table := new(r255.ScalarMultTable)
	table.Compute(&b)
	c.table.Store(table)
}

// blindAdditive sets dst to H(input) + r·B and writes its encoding to enc.
// It runs in go-ristretto, which holds the table, and hands the point over
// to edwards25519 for the proof (convert.go).
func (c *Client) blindAdditive(dst *edwards25519.Point, enc []byte, r *ristretto255.Scalar, input []byte) error {
	var h, rb r255.Point
	if !c.p.hashToPoint(&h, input) {
		return ErrInputToIdentity
	}
	var rBytes [ScalarSize]byte
	copy(rBytes[:], r.Bytes())
	var rs r255.Scalar
	rs.SetBytes(&rBytes)
	clear(rBytes[:])
	rb.ScalarMultTable(c.table.Load(), &rs)
	clear(rs[:])
	h.Add(&h, &rb)
	var e [ElementSize]byte
	h.BytesInto(&e)
	copy(enc, e[:])
	return ristretto.FromGoRistretto(dst, &h)
}

// hashToPoint is hashToGroup computed in go-ristretto: the same
// expand_message_xmd output, each half through the RFC 9496 one-way map,
// summed. It reports false for the identity element.
func (p *params) hashToPoint(dst *r255.Point, input []byte) bool {
	var u [xmd.Size]byte
	p.hashToGroupX.Expand(&u, input)
	var half [32]byte
	var q r255.Point
	copy(half[:], u[:32])
	dst.SetElligator(&half)
	copy(half[:], u[32:])
	q.SetElligator(&half)
	dst.Add(dst, &q)
	var zero r255.Point
	zero.SetZero()
	return !dst.Equals(&zero)
}
