package oprf

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// vectorFile is the shape of testdata/rfc9497-ristretto255.json: the RFC
// 9497 Appendix A.1 values, hex-encoded, grouped by mode.
type vectorFile struct {
	Suite string `json:"suite"`
	Modes []struct {
		Mode    byte   `json:"mode"`
		Name    string `json:"name"`
		Seed    string `json:"seed"`
		KeyInfo string `json:"keyInfo"`
		SkSm    string `json:"skSm"`
		PkSm    string `json:"pkSm"`
		Vectors []struct {
			Name        string   `json:"name"`
			Inputs      []string `json:"inputs"`
			Info        string   `json:"info"`
			Blinds      []string `json:"blinds"`
			Blinded     []string `json:"blinded"`
			Evaluated   []string `json:"evaluated"`
			Outputs     []string `json:"outputs"`
			ProofRandom string   `json:"proofRandom"`
			Proof       string   `json:"proof"`
		} `json:"vectors"`
	} `json:"modes"`
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// unhexAll decodes a list of hex strings; flat concatenates them.
func unhexAll(t *testing.T, ss []string) (each [][]byte, flat []byte) {
	t.Helper()
	for _, s := range ss {
		b := unhex(t, s)
		each = append(each, b)
		flat = append(flat, b...)
	}
	return each, flat
}

// scalarStream is the randomness that makes randomScalar return exactly the
// given canonical scalars: each is read as 64 bytes and reduced mod l, so
// scalar || 0^32 reduces to the scalar itself.
func scalarStream(t *testing.T, scalars ...[]byte) *bytes.Reader {
	t.Helper()
	var b []byte
	for _, s := range scalars {
		b = append(b, s...)
		b = append(b, make([]byte, uniformSize-len(s))...)
	}
	return bytes.NewReader(b)
}

func TestRFC9497Vectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/rfc9497-ristretto255.json")
	if err != nil {
		t.Fatal(err)
	}
	var file vectorFile
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if file.Suite != SuiteID || len(file.Modes) != 3 {
		t.Fatalf("unexpected vector file: suite %q, %d modes", file.Suite, len(file.Modes))
	}
	modes := map[byte]*params{modeOPRF: oprf, modeVOPRF: voprf, modePOPRF: poprf}
	for _, m := range file.Modes {
		p := modes[m.Mode]
		sk, err := p.deriveKey(unhex(t, m.Seed), unhex(t, m.KeyInfo))
		if err != nil {
			t.Fatalf("%s: DeriveKeyPair: %v", m.Name, err)
		}
		t.Run(m.Name+"/DeriveKeyPair", func(t *testing.T) {
			skBytes, _ := sk.MarshalBinary()
			if got, want := hex.EncodeToString(skBytes), m.SkSm; got != want {
				t.Errorf("skSm = %s, want %s", got, want)
			}
			if m.PkSm != "" {
				pkBytes, _ := sk.Public().MarshalBinary()
				if got, want := hex.EncodeToString(pkBytes), m.PkSm; got != want {
					t.Errorf("pkSm = %s, want %s", got, want)
				}
			}
		})
		for _, v := range m.Vectors {
			t.Run(m.Name+"/"+v.Name, func(t *testing.T) {
				inputs, _ := unhexAll(t, v.Inputs)
				blinds, _ := unhexAll(t, v.Blinds)
				_, wantBlinded := unhexAll(t, v.Blinded)
				_, wantEvaluated := unhexAll(t, v.Evaluated)
				wantOutputs, _ := unhexAll(t, v.Outputs)
				info := unhex(t, v.Info)

				client, err := newClient(p, sk.Public(), info, ProofRFC9497)
				if err != nil {
					t.Fatal(err)
				}
				st, blinded, err := client.Blind(scalarStream(t, blinds...), inputs)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(blinded, wantBlinded) {
					t.Errorf("blinded = %x, want %x", blinded, wantBlinded)
				}

				ev, err := newEvaluator(p, sk, info, ProofRFC9497)
				if err != nil {
					t.Fatal(err)
				}
				var proofRand *bytes.Reader
				if v.ProofRandom != "" {
					proofRand = scalarStream(t, unhex(t, v.ProofRandom))
				}
				evaluated, proof, err := ev.BlindEvaluate(proofRand, blinded)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(evaluated, wantEvaluated) {
					t.Errorf("evaluated = %x, want %x", evaluated, wantEvaluated)
				}
				if v.Proof != "" {
					if got := hex.EncodeToString(proof[:]); got != v.Proof {
						t.Errorf("proof = %s, want %s", got, v.Proof)
					}
				}

				outputs, err := client.Finalize(st, wantEvaluated, unhex(t, v.Proof))
				if err != nil {
					t.Fatalf("Finalize: %v", err)
				}
				for i := range outputs {
					if !bytes.Equal(outputs[i][:], wantOutputs[i]) {
						t.Errorf("output[%d] = %x, want %x", i, outputs[i], wantOutputs[i])
					}
					full, err := ev.Evaluate(inputs[i])
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(full[:], wantOutputs[i]) {
						t.Errorf("EvaluateFull(input %d) = %x, want %x", i, full, wantOutputs[i])
					}
				}
			})
			if m.Mode != modePOPRF {
				continue
			}
			// Additive blinding sends other elements (the vectors' blinds
			// are for r·H(x)) but must reach the vectors' outputs through
			// the same evaluator and proof.
			t.Run(m.Name+"/"+v.Name+"/additive", func(t *testing.T) {
				inputs, _ := unhexAll(t, v.Inputs)
				wantOutputs, _ := unhexAll(t, v.Outputs)
				info := unhex(t, v.Info)
				client, err := newClient(p, sk.Public(), info, ProofRFC9497)
				if err != nil {
					t.Fatal(err)
				}
				ev, err := newEvaluator(p, sk, info, ProofRFC9497)
				if err != nil {
					t.Fatal(err)
				}
				st, blinded, err := client.BlindAdditive(rand.Reader, inputs)
				if err != nil {
					t.Fatal(err)
				}
				evaluated, proof, err := ev.BlindEvaluate(rand.Reader, blinded)
				if err != nil {
					t.Fatal(err)
				}
				outputs, err := client.Finalize(st, evaluated, proof[:])
				if err != nil {
					t.Fatalf("Finalize: %v", err)
				}
				for i := range outputs {
					if !bytes.Equal(outputs[i][:], wantOutputs[i]) {
						t.Errorf("output[%d] = %x, want %x", i, outputs[i], wantOutputs[i])
					}
				}
			})
		}
	}
}
