package oprf

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/gtank/ristretto255"
)

// session is one honest exchange that the negative tests then tamper with.
type session struct {
	sk        *PrivateKey
	info      []byte
	client    *Client
	ev        *Evaluator
	inputs    [][]byte
	state     *BlindState
	blinded   []byte
	evaluated []byte
	proof     []byte
}

func newSession(t testing.TB, n int) *session {
	t.Helper()
	s := &session{info: []byte("riskmesh/v1|black|20250101")}
	var err error
	if s.sk, err = GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if s.client, err = NewClient(s.sk.Public(), s.info); err != nil {
		t.Fatal(err)
	}
	if s.ev, err = NewEvaluator(s.sk, s.info); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		s.inputs = append(s.inputs, []byte{'p', 'h', 'o', 'n', 'e', ':', byte('0' + i)})
	}
	if s.state, s.blinded, err = s.client.Blind(rand.Reader, s.inputs); err != nil {
		t.Fatal(err)
	}
	evaluated, proof, err := s.ev.BlindEvaluate(rand.Reader, s.blinded)
	if err != nil {
		t.Fatal(err)
	}
	s.evaluated, s.proof = evaluated, proof[:]
	return s
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func with(b []byte, f func([]byte)) []byte {
	b = clone(b)
	f(b)
	return b
}

// nonCanonical is 2^255 - 1 (≥ p), never a valid element or scalar.
var nonCanonical = bytes.Repeat([]byte{0xff}, 32)

// generatorBytes is a valid element that no honest exchange uses.
var generatorBytes = ristretto255.NewGeneratorElement().Bytes()

func TestFinalizeRejects(t *testing.T) {
	s := newSession(t, 3)
	otherKey, _ := GenerateKey(rand.Reader)
	otherInfo := []byte("riskmesh/v1|black|20250102")
	tests := []struct {
		name      string
		key       *PublicKey
		info      []byte
		evaluated []byte
		proof     []byte
		want      error
	}{
		{"wrong key", otherKey.Public(), s.info, s.evaluated, s.proof, ErrProofVerification},
		{"wrong info", s.sk.Public(), otherInfo, s.evaluated, s.proof, ErrProofVerification},
		{"swapped elements", s.sk.Public(), s.info, with(s.evaluated, func(b []byte) {
			var tmp [32]byte
			copy(tmp[:], b[:32])
			copy(b[:32], b[32:64])
			copy(b[32:64], tmp[:])
		}), s.proof, ErrProofVerification},
		{"replaced element", s.sk.Public(), s.info, with(s.evaluated, func(b []byte) { copy(b[32:64], generatorBytes) }), s.proof, ErrProofVerification},
		{"identity element", s.sk.Public(), s.info, with(s.evaluated, func(b []byte) { clear(b[64:96]) }), s.proof, ErrIdentityElement},
		{"non-canonical element", s.sk.Public(), s.info, with(s.evaluated, func(b []byte) { copy(b[:32], nonCanonical) }), s.proof, ErrInvalidElement},
		{"truncated array", s.sk.Public(), s.info, s.evaluated[:len(s.evaluated)-1], s.proof, ErrElementsLength},
		{"trailing byte", s.sk.Public(), s.info, append(clone(s.evaluated), 0), s.proof, ErrElementsLength},
		{"extra element", s.sk.Public(), s.info, append(clone(s.evaluated), generatorBytes...), s.proof, ErrBatchMismatch},
		{"missing element", s.sk.Public(), s.info, s.evaluated[:64], s.proof, ErrBatchMismatch},
		{"empty array", s.sk.Public(), s.info, nil, s.proof, ErrEmptyBatch},
		{"short proof", s.sk.Public(), s.info, s.evaluated, s.proof[:63], ErrProofLength},
		{"long proof", s.sk.Public(), s.info, s.evaluated, append(clone(s.proof), 0), ErrProofLength},
		{"non-canonical c", s.sk.Public(), s.info, s.evaluated, with(s.proof, func(b []byte) { copy(b[:32], nonCanonical) }), ErrProofEncoding},
		{"non-canonical s", s.sk.Public(), s.info, s.evaluated, with(s.proof, func(b []byte) { copy(b[32:], nonCanonical) }), ErrProofEncoding},
		{"tampered c", s.sk.Public(), s.info, s.evaluated, with(s.proof, func(b []byte) { b[0] ^= 1 }), ErrProofVerification},
		{"tampered s", s.sk.Public(), s.info, s.evaluated, with(s.proof, func(b []byte) { b[32] ^= 1 }), ErrProofVerification},
		{"zero proof", s.sk.Public(), s.info, s.evaluated, make([]byte, ProofSize), ErrProofVerification},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, err := NewClient(tt.key, tt.info)
			if err != nil {
				t.Fatal(err)
			}
			out, err := client.Finalize(s.state, tt.evaluated, tt.proof)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Finalize error = %v, want %v", err, tt.want)
			}
			if out != nil {
				t.Fatal("Finalize returned outputs with an error")
			}
			if err := VerifyProof(tt.key, tt.info, s.blinded, tt.evaluated, tt.proof); !errors.Is(err, tt.want) {
				t.Fatalf("VerifyProof error = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("element error names the index", func(t *testing.T) {
		_, err := s.client.Finalize(s.state, with(s.evaluated, func(b []byte) { clear(b[64:96]) }), s.proof)
		var ee *ElementError
		if !errors.As(err, &ee) || ee.Index != 2 {
			t.Fatalf("error = %v, want *ElementError for index 2", err)
		}
	})
	t.Run("honest answer still accepted", func(t *testing.T) {
		if _, err := s.client.Finalize(s.state, s.evaluated, s.proof); err != nil {
			t.Fatal(err)
		}
		if err := VerifyProof(s.sk.Public(), s.info, s.blinded, s.evaluated, s.proof); err != nil {
			t.Fatal(err)
		}
	})
}

func TestVerifyProofRejectsBadBlinded(t *testing.T) {
	s := newSession(t, 3)
	tests := []struct {
		name    string
		blinded []byte
		want    error
	}{
		{"identity", with(s.blinded, func(b []byte) { clear(b[:32]) }), ErrIdentityElement},
		{"non-canonical", with(s.blinded, func(b []byte) { copy(b[32:64], nonCanonical) }), ErrInvalidElement},
		{"other element", with(s.blinded, func(b []byte) { copy(b[32:64], generatorBytes) }), ErrProofVerification},
		{"length mismatch", s.blinded[:64], ErrBatchMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := VerifyProof(s.sk.Public(), s.info, tt.blinded, s.evaluated, s.proof); !errors.Is(err, tt.want) {
				t.Fatalf("VerifyProof error = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("invalid public key", func(t *testing.T) {
		if err := VerifyProof(&PublicKey{}, s.info, s.blinded, s.evaluated, s.proof); !errors.Is(err, ErrInvalidPublicKey) {
			t.Fatalf("error = %v", err)
		}
		if err := VerifyProof(nil, s.info, s.blinded, s.evaluated, s.proof); !errors.Is(err, ErrInvalidPublicKey) {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestBlindEvaluateRejects(t *testing.T) {
	s := newSession(t, 2)
	tests := []struct {
		name    string
		blinded []byte
		want    error
	}{
		{"empty", nil, ErrEmptyBatch},
		{"not a multiple of 32", s.blinded[:40], ErrElementsLength},
		{"trailing byte", append(clone(s.blinded), 1), ErrElementsLength},
		{"identity", with(s.blinded, func(b []byte) { clear(b[32:]) }), ErrIdentityElement},
		{"non-canonical", with(s.blinded, func(b []byte) { copy(b[:32], nonCanonical) }), ErrInvalidElement},
		{"negative s", with(s.blinded, func(b []byte) { clear(b[:32]); b[0] = 1 }), ErrInvalidElement},
		{"larger than MaxBatch", make([]byte, (MaxBatch+1)*ElementSize), ErrBatchTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evaluated, _, err := s.ev.BlindEvaluate(rand.Reader, tt.blinded)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if evaluated != nil {
				t.Fatal("evaluated returned with an error")
			}
			if _, err := ValidateElements(tt.blinded); !errors.Is(err, tt.want) {
				t.Fatalf("ValidateElements error = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("broken randomness", func(t *testing.T) {
		if _, _, err := s.ev.BlindEvaluate(iotest.ErrReader(errors.New("no entropy")), s.blinded); err == nil {
			t.Fatal("no error from a failing reader")
		}
		// RFC 9497's nonce is the random scalar itself: zero bytes are a
		// broken source. The binding rule's hedged nonce stays secret and
		// non-zero (TestHedgedNonce shows the key does not leak).
		rfc, err := NewEvaluatorWithRule(s.sk, s.info, ProofRFC9497)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := rfc.BlindEvaluate(bytes.NewReader(make([]byte, 64)), s.blinded); !errors.Is(err, ErrRandomness) {
			t.Fatalf("zero RFC 9497 nonce: error = %v, want ErrRandomness", err)
		}
		evaluated, proof, err := s.ev.BlindEvaluate(bytes.NewReader(make([]byte, 64)), s.blinded)
		if err != nil {
			t.Fatalf("hedged nonce from zero bytes: %v", err)
		}
		if err := VerifyProof(s.sk.Public(), s.info, s.blinded, evaluated, proof[:]); err != nil {
			t.Fatalf("hedged nonce from zero bytes: %v", err)
		}
	})
}

func TestBlindRejects(t *testing.T) {
	s := newSession(t, 1)
	tests := []struct {
		name   string
		rand   []byte // the randomness; nil: crypto/rand
		inputs [][]byte
		want   error
	}{
		{"empty batch", nil, nil, ErrEmptyBatch},
		{"larger than MaxBatch", nil, make([][]byte, MaxBatch+1), ErrBatchTooLarge},
		{"input too long", nil, [][]byte{{1}, make([]byte, MaxInputLen+1)}, ErrInputTooLong},
		{"zero blind", make([]byte, 64), [][]byte{{1}}, ErrRandomness},
	}
	for _, blinding := range []Blinding{BlindMultiplicative, BlindAdditive} {
		blind := blindWith(s.client, blinding)
		for _, tt := range tests {
			t.Run(blinding.String()+"/"+tt.name, func(t *testing.T) {
				var src io.Reader = rand.Reader
				if tt.rand != nil {
					src = bytes.NewReader(tt.rand)
				}
				if _, _, err := blind(src, tt.inputs); !errors.Is(err, tt.want) {
					t.Fatalf("error = %v, want %v", err, tt.want)
				}
			})
		}
		t.Run(blinding.String()+"/short randomness", func(t *testing.T) {
			if _, _, err := blind(bytes.NewReader(make([]byte, 10)), [][]byte{{1}}); err == nil {
				t.Fatal("no error from a short reader")
			}
		})
		t.Run(blinding.String()+"/input error names the index", func(t *testing.T) {
			_, _, err := blind(rand.Reader, [][]byte{{1}, {2}, make([]byte, MaxInputLen+1)})
			var ie *InputError
			if !errors.As(err, &ie) || ie.Index != 2 {
				t.Fatalf("error = %v, want *InputError for index 2", err)
			}
		})
	}
	t.Run("nil state", func(t *testing.T) {
		if _, err := s.client.Finalize(nil, s.evaluated, s.proof); !errors.Is(err, ErrNilState) {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestInfoRejects(t *testing.T) {
	sk, _ := GenerateKey(rand.Reader)
	long := make([]byte, MaxInfoLen+1)
	if _, err := NewClient(sk.Public(), long); !errors.Is(err, ErrInfoTooLong) {
		t.Errorf("NewClient: error = %v", err)
	}
	if _, err := NewEvaluator(sk, long); !errors.Is(err, ErrInfoTooLong) {
		t.Errorf("NewEvaluator: error = %v", err)
	}
	if _, err := NewEvaluator(nil, nil); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Errorf("NewEvaluator(nil): error = %v", err)
	}
	if _, err := NewEvaluator(&PrivateKey{}, nil); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Errorf("NewEvaluator(zero key): error = %v", err)
	}
	if _, err := NewClient(&PublicKey{}, nil); !errors.Is(err, ErrInvalidPublicKey) {
		t.Errorf("NewClient(zero key): error = %v", err)
	}

	// A key equal to -m for this info makes t = 0 (RFC 9497 InverseError on
	// the server, identity tweaked key on the client).
	info := []byte("riskmesh/v1|grey|1")
	m, _ := poprf.infoScalar(info)
	var negM ristretto255.Scalar
	negM.Negate(&m)
	evil := newPrivateKey(&negM)
	if _, err := NewEvaluator(evil, info); !errors.Is(err, ErrInvalidInfo) {
		t.Errorf("NewEvaluator(-m): error = %v", err)
	}
	if _, err := NewClient(evil.Public(), info); !errors.Is(err, ErrInvalidInfo) {
		t.Errorf("NewClient(-m·G): error = %v", err)
	}
}

func TestEvaluateRejects(t *testing.T) {
	s := newSession(t, 1)
	if _, err := s.ev.Evaluate(make([]byte, MaxInputLen+1)); !errors.Is(err, ErrInputTooLong) {
		t.Errorf("Evaluate: error = %v", err)
	}
	if err := s.ev.EvaluateBatch(make([][OutputSize]byte, 1), [][]byte{{1}, {2}}); !errors.Is(err, ErrOutputLength) {
		t.Errorf("EvaluateBatch: error = %v", err)
	}
	var ie *InputError
	if err := s.ev.EvaluateBatch(make([][OutputSize]byte, 2), [][]byte{{1}, make([]byte, MaxInputLen+1)}); !errors.As(err, &ie) || ie.Index != 1 {
		t.Errorf("EvaluateBatch: error = %v, want *InputError for index 1", err)
	}
}
