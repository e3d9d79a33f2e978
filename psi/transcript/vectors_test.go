package transcript

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// Regenerate with: go test ./psi/transcript -run TestGoldenVectors -update
// Only do so for a deliberate, versioned format change.
var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the generator")

const vectorsFile = "testdata/vectors.json"

type hexBytes []byte

func (b hexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(b)), nil }
func (b *hexBytes) UnmarshalText(s []byte) error {
	v, err := hex.DecodeString(string(s))
	*b = v
	return err
}

type vectorHeader struct {
	ProofRule ProofRule `json:"proof_rule"`
	Protocol  Protocol  `json:"protocol"`
	Suite     string    `json:"suite"`
	Category  string    `json:"category"`
	Period    uint64    `json:"period"`
	Requester string    `json:"requester"`
	Responder string    `json:"responder"`
	Sequence  uint64    `json:"sequence"`
	Count     uint32    `json:"count"`
	KeyID     hexBytes  `json:"key_id"`
}

type vector struct {
	Name         string       `json:"name"`
	Header       vectorHeader `json:"header"`
	Request      []hexBytes   `json:"request"`
	Evaluated    []hexBytes   `json:"evaluated"`
	Proof        hexBytes     `json:"proof"`
	Own          []hexBytes   `json:"own"`
	RequesterKey hexBytes     `json:"requester_public_key"`
	ResponderKey hexBytes     `json:"responder_public_key"`
	RequestSig   hexBytes     `json:"request_signature"`
	ResponseSig  hexBytes     `json:"response_signature"`
	Expected     struct {
		Header         hexBytes `json:"header"`
		Request        hexBytes `json:"request"`
		Response       hexBytes `json:"response"`
		RequestHash    hexBytes `json:"request_hash"`
		RequestDigest  hexBytes `json:"request_digest"`
		ResponseHash   hexBytes `json:"response_hash"`
		ResponseDigest hexBytes `json:"response_digest"`
		File           hexBytes `json:"file"`
	} `json:"expected"`
}

func (v *vector) transcript(t *testing.T) *Transcript {
	t.Helper()
	tr := &Transcript{
		Header: Header{
			ProofRule: v.Header.ProofRule, Protocol: v.Header.Protocol, Suite: v.Header.Suite, Category: v.Header.Category,
			Period: v.Header.Period, Requester: v.Header.Requester, Responder: v.Header.Responder,
			Sequence: v.Header.Sequence, Count: v.Header.Count,
		},
		Response:          Response{Proof: v.Proof},
		RequestSignature:  v.RequestSig,
		ResponseSignature: v.ResponseSig,
	}
	if copy(tr.Header.KeyID[:], v.Header.KeyID) != KeyIDSize {
		t.Fatal("key id is not 32 bytes")
	}
	for _, e := range v.Request {
		tr.Request.Elements = append(tr.Request.Elements, e)
	}
	for _, e := range v.Evaluated {
		tr.Response.Evaluated = append(tr.Response.Evaluated, e)
	}
	for _, e := range v.Own {
		tr.Response.Own = append(tr.Response.Own, e)
	}
	return tr
}

func TestGoldenVectors(t *testing.T) {
	if *update {
		writeVectors(t)
	}
	data, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var vectors []vector
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range vectors {
		t.Run(v.Name, func(t *testing.T) {
			tr := v.transcript(t)
			check := func(name string, got, want []byte) {
				t.Helper()
				if !bytes.Equal(got, want) {
					t.Errorf("%s:\n got %x\nwant %x", name, got, want)
				}
			}
			hdr, err := tr.Header.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			check("header", hdr, v.Expected.Header)
			req, err := MarshalRequest(&tr.Header, &tr.Request)
			if err != nil {
				t.Fatal(err)
			}
			check("request", req, v.Expected.Request)
			resp, err := MarshalResponse(&tr.Header, &tr.Response)
			if err != nil {
				t.Fatal(err)
			}
			check("response", resp, v.Expected.Response)
			d, err := tr.Verify([][]byte{v.RequesterKey}, [][]byte{v.ResponderKey})
			if err != nil {
				t.Fatal(err)
			}
			check("request hash", d.RequestHash[:], v.Expected.RequestHash)
			check("request digest", d.RequestDigest[:], v.Expected.RequestDigest)
			check("response hash", d.ResponseHash[:], v.Expected.ResponseHash)
			check("response digest", d.ResponseDigest[:], v.Expected.ResponseDigest)
			file, err := tr.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			check("file", file, v.Expected.File)

			// The ledger path: digests from the encoded header and the two
			// body hashes alone.
			h, err := ParseHeader(v.Expected.Header)
			if err != nil {
				t.Fatal(err)
			}
			rd, err := RequestDigest(h, [DigestSize]byte(v.Expected.RequestHash))
			if err != nil {
				t.Fatal(err)
			}
			check("ledger request digest", rd[:], v.Expected.RequestDigest)
			sd := ResponseDigest(rd, [DigestSize]byte(v.Expected.ResponseHash))
			check("ledger response digest", sd[:], v.Expected.ResponseDigest)
		})
	}
}

// writeVectors regenerates the vector file from deterministic inputs and
// fresh signatures (ECDSA signing is randomised, so signatures are inputs).
func writeVectors(t *testing.T) {
	t.Helper()
	// Header version 1 (ProofRFC9497) vectors are the format's first
	// vectors, kept byte for byte: old transcripts must still parse,
	// re-encode and verify.
	cases := []struct {
		name       string
		rule       ProofRule
		protocol   Protocol
		suite      string
		count, own int
	}{
		{"catalog-oprf/ristretto255-SHA512/3", ProofRFC9497, ProtocolCatalogOPRF, SuiteRistretto255SHA512, 3, 0},
		{"catalog-oprf/P256-SHA256/2", ProofRFC9497, ProtocolCatalogOPRF, SuiteP256SHA256, 2, 0},
		{"ecdh-requester-learns/ristretto255-SHA512/2+3", ProofRFC9497, ProtocolECDHRequesterLearns, SuiteRistretto255SHA512, 2, 3},
		{"ecdh-both-learn/edwards25519-SHA512/1+0", ProofRFC9497, ProtocolECDHBothLearn, SuiteEdwards25519SHA512, 1, 0},
		{"v2/catalog-oprf/ristretto255-SHA512/3", ProofBinding, ProtocolCatalogOPRF, SuiteRistretto255SHA512, 3, 0},
		{"v2/ecdh-requester-learns/ristretto255-SHA512/2+3", ProofBinding, ProtocolECDHRequesterLearns, SuiteRistretto255SHA512, 2, 3},
		{"v3/catalog-oprf/ristretto255-SHA512/3", ProofBinding128, ProtocolCatalogOPRF, SuiteRistretto255SHA512, 3, 0},
		{"v3/live-he/ristretto255-SHA512/2", ProofBinding128, ProtocolLiveHE, SuiteRistretto255SHA512, 2, 0},
	}
	requester, responder := newParty(t), newParty(t)
	var out []vector
	for _, c := range cases {
		h, req, resp := testExchange(t, c.protocol, c.count, 0)
		h.Suite, h.ProofRule = c.suite, c.rule
		s, err := LookupSuite(c.suite)
		if err != nil {
			t.Fatal(err)
		}
		req.Elements = testElements(c.count, s.ElementSize, c.name+"/request")
		resp.Evaluated = testElements(c.count, s.ElementSize, c.name+"/evaluated")
		resp.Own = nil
		if c.own > 0 {
			resp.Own = testElements(c.own, s.ElementSize, c.name+"/own")
		}
		tr := &Transcript{Header: *h, Request: *req, Response: *resp}
		d, err := tr.Digests()
		if err != nil {
			t.Fatal(err)
		}
		if tr.RequestSignature, err = SignRequest(requester.sign, d.RequestDigest); err != nil {
			t.Fatal(err)
		}
		if tr.ResponseSignature, err = SignResponse(responder.sign, d.ResponseDigest); err != nil {
			t.Fatal(err)
		}
		v := vector{
			Name: c.name,
			Header: vectorHeader{
				ProofRule: h.ProofRule, Protocol: h.Protocol, Suite: h.Suite, Category: h.Category, Period: h.Period,
				Requester: h.Requester, Responder: h.Responder, Sequence: h.Sequence, Count: h.Count,
				KeyID: h.KeyID[:],
			},
			Proof:        resp.Proof,
			RequesterKey: requester.pub, ResponderKey: responder.pub,
			RequestSig: tr.RequestSignature, ResponseSig: tr.ResponseSignature,
		}
		for _, e := range req.Elements {
			v.Request = append(v.Request, e)
		}
		for _, e := range resp.Evaluated {
			v.Evaluated = append(v.Evaluated, e)
		}
		for _, e := range resp.Own {
			v.Own = append(v.Own, e)
		}
		v.Expected.Header, _ = h.MarshalBinary()
		v.Expected.Request, _ = MarshalRequest(h, req)
		v.Expected.Response, _ = MarshalResponse(h, resp)
		v.Expected.RequestHash, v.Expected.RequestDigest = d.RequestHash[:], d.RequestDigest[:]
		v.Expected.ResponseHash, v.Expected.ResponseDigest = d.ResponseHash[:], d.ResponseDigest[:]
		if v.Expected.File, err = tr.MarshalBinary(); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(vectorsFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vectorsFile, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
