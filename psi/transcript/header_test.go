package transcript

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestHeaderRoundTrip(t *testing.T) {
	for _, p := range []Protocol{ProtocolCatalogOPRF, ProtocolECDHRequesterLearns, ProtocolECDHBothLearn, ProtocolLiveHE} {
		for _, suite := range []string{SuiteRistretto255SHA512, SuiteP256SHA256, SuiteEdwards25519SHA512} {
			for _, rule := range []ProofRule{ProofBinding, ProofRFC9497, ProofBinding128} {
				t.Run(p.String()+"/"+suite+"/"+rule.String(), func(t *testing.T) {
					h := testHeader(t, MaxItems)
					h.Protocol, h.Suite, h.ProofRule = p, suite, rule
					enc, err := h.MarshalBinary()
					if err != nil {
						t.Fatal(err)
					}
					got, err := ParseHeader(enc)
					if err != nil {
						t.Fatal(err)
					}
					if *got != *h {
						t.Fatalf("round trip: got %+v, want %+v", got, h)
					}
					again, err := got.MarshalBinary()
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(again, enc) {
						t.Fatal("re-encoding differs")
					}
					if want := headerVersion(rule); enc[0] != want {
						t.Fatalf("%v encoded as version %d, want %d", rule, enc[0], want)
					}
				})
			}
		}
	}
}

func TestHeaderValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Header)
		want   error
	}{
		{"proof rule unknown", func(h *Header) { h.ProofRule = 3 }, ErrVersion},
		{"protocol zero", func(h *Header) { h.Protocol = 0 }, ErrProtocol},
		{"protocol unknown", func(h *Header) { h.Protocol = ProtocolLiveHE + 1 }, ErrProtocol},
		{"suite unknown", func(h *Header) { h.Suite = "ristretto255-SHA256" }, ErrSuite},
		{"suite empty", func(h *Header) { h.Suite = "" }, ErrSuite},
		{"category empty", func(h *Header) { h.Category = "" }, ErrCategory},
		{"category too long", func(h *Header) { h.Category = strings.Repeat("a", MaxCategoryLen+1) }, ErrCategory},
		{"category with separator", func(h *Header) { h.Category = "black|1" }, ErrCategory},
		{"category with space", func(h *Header) { h.Category = "bl ack" }, ErrCategory},
		{"requester empty", func(h *Header) { h.Requester = "" }, ErrParty},
		{"requester too long", func(h *Header) { h.Requester = strings.Repeat("M", MaxPartyLen+1) }, ErrParty},
		{"responder control char", func(h *Header) { h.Responder = "Org\x00MSP" }, ErrParty},
		{"responder non-ASCII", func(h *Header) { h.Responder = "Orgé" }, ErrParty},
		{"same party", func(h *Header) { h.Responder = h.Requester }, ErrSameParty},
		{"count zero", func(h *Header) { h.Count = 0 }, ErrCount},
		{"count over max", func(h *Header) { h.Count = MaxItems + 1 }, ErrCount},
		{"ECDH count over max", func(h *Header) { h.Protocol, h.Count = ProtocolECDHBothLearn, MaxECDHItems+1 }, ErrCount},
		{"live count over max", func(h *Header) { h.Protocol, h.Count = ProtocolLiveHE, MaxItems+1 }, ErrCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := testHeader(t, 10)
			tt.mutate(h)
			if err := h.Validate(); !errors.Is(err, tt.want) {
				t.Fatalf("Validate: got %v, want %v", err, tt.want)
			}
			if _, err := h.MarshalBinary(); !errors.Is(err, tt.want) {
				t.Fatalf("MarshalBinary: got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestProtocolMaxItems(t *testing.T) {
	tests := []struct {
		p    Protocol
		want int
	}{
		{ProtocolCatalogOPRF, MaxItems},
		{ProtocolECDHRequesterLearns, MaxECDHItems},
		{ProtocolECDHBothLearn, MaxECDHItems},
		{ProtocolLiveHE, MaxItems},
	}
	for _, tt := range tests {
		t.Run(tt.p.String(), func(t *testing.T) {
			if got := tt.p.MaxItems(); got != tt.want {
				t.Fatalf("MaxItems = %d, want %d", got, tt.want)
			}
			h := testHeader(t, 1)
			h.Protocol, h.Count = tt.p, uint32(tt.want)
			if err := h.Validate(); err != nil {
				t.Fatalf("count at the bound rejected: %v", err)
			}
		})
	}
}

func TestHeaderLimitsAccepted(t *testing.T) {
	h := testHeader(t, 1)
	h.Category = strings.Repeat("c", MaxCategoryLen)
	h.Requester = strings.Repeat("r", MaxPartyLen)
	h.Responder = strings.Repeat("s", MaxPartyLen)
	h.Suite = SuiteRistretto255SHA512
	enc, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) > MaxHeaderSize {
		t.Fatalf("encoding of %d bytes exceeds MaxHeaderSize %d", len(enc), MaxHeaderSize)
	}
	if _, err := ParseHeader(enc); err != nil {
		t.Fatal(err)
	}
}

func TestParseHeaderRejects(t *testing.T) {
	valid, err := testHeader(t, 3).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	with := func(i int, v byte) []byte {
		b := bytes.Clone(valid)
		b[i] = v
		return b
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"version 0", with(0, 0), ErrVersion},
		{"version 4", with(0, 4), ErrVersion},
		{"protocol 0", with(1, 0), ErrProtocol},
		{"protocol 9", with(1, 9), ErrProtocol},
		{"suite length overruns", with(2, 0xff), ErrMalformed},
		{"truncated", valid[:len(valid)-1], ErrMalformed},
		{"trailing byte", append(bytes.Clone(valid), 0), ErrTrailingData},
		{"count zero", func() []byte { b := bytes.Clone(valid); copy(b[len(b)-KeyIDSize-4:], []byte{0, 0, 0, 0}); return b }(), ErrCount},
		{"oversized", make([]byte, MaxHeaderSize+1), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseHeader(tt.data); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// The header versions are wire values, pinned here rather than through
// headerVersion: each rule's version byte parses back to that rule, and
// every other byte is refused.
func TestHeaderVersionOfRule(t *testing.T) {
	want := map[uint8]ProofRule{1: ProofRFC9497, 2: ProofBinding, 3: ProofBinding128}
	if HeaderVersion != 3 || HeaderVersionBinding != 2 || HeaderVersionRFC9497 != 1 {
		t.Fatalf("header versions %d, %d, %d, want 3, 2, 1", HeaderVersion, HeaderVersionBinding, HeaderVersionRFC9497)
	}
	valid, err := testHeader(t, 3).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for v := range 256 {
		b := bytes.Clone(valid)
		b[0] = byte(v)
		h, err := ParseHeader(b)
		rule, ok := want[uint8(v)]
		switch {
		case !ok && !errors.Is(err, ErrVersion):
			t.Fatalf("version %d: ParseHeader = %v, want ErrVersion", v, err)
		case !ok:
			continue
		case err != nil:
			t.Fatalf("version %d: %v", v, err)
		case h.ProofRule != rule:
			t.Fatalf("version %d parsed as %v, want %v", v, h.ProofRule, rule)
		}
		again, err := h.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("version %d does not re-encode to itself: %v", v, err)
		}
	}
}

// The proof rule is part of what the requester signs: the same exchange
// under the other rule has another request digest, so a provider cannot
// relabel a request to answer it under a rule the requester did not ask
// for, and an old transcript's digests do not change.
func TestProofRuleIsSigned(t *testing.T) {
	h := testHeader(t, 3)
	var body [DigestSize]byte
	seen := map[[DigestSize]byte]ProofRule{}
	for _, rule := range []ProofRule{ProofBinding, ProofRFC9497, ProofBinding128} {
		other := *h
		other.ProofRule = rule
		d, err := RequestDigest(&other, body)
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := seen[d]; ok {
			t.Fatalf("rules %v and %v give one request digest: it does not cover the proof rule", prev, rule)
		}
		seen[d] = rule
	}
}
