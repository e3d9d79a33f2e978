package transcript

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/riskmesh/riskmesh/internal/ecsig"
)

// party is a test signing identity.
type party struct {
	sign ecsig.Sign
	pub  []byte
}

func newParty(t testing.TB) party {
	t.Helper()
	key, pub, err := ecsig.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return party{sign: ecsig.NewSigner(key, rand.Reader), pub: pub}
}

// signedTranscript builds a transcript signed by requester and responder.
func signedTranscript(t testing.TB, p Protocol, count, own int, requester, responder party) *Transcript {
	t.Helper()
	h, req, resp := testExchange(t, p, count, own)
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
	return tr
}

func TestTranscriptRoundTrip(t *testing.T) {
	req, resp := newParty(t), newParty(t)
	tests := []struct {
		name       string
		protocol   Protocol
		count, own int
	}{
		{"catalog OPRF, 1 item", ProtocolCatalogOPRF, 1, 0},
		{"catalog OPRF, 1000 items", ProtocolCatalogOPRF, 1000, 0},
		{"ECDH requester learns", ProtocolECDHRequesterLearns, 10, 12},
		{"ECDH both learn, empty responder set", ProtocolECDHBothLearn, 5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := signedTranscript(t, tt.protocol, tt.count, tt.own, req, resp)
			enc, err := tr.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(enc)
			if err != nil {
				t.Fatal(err)
			}
			again, err := got.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, again) {
				t.Fatal("re-encoding differs")
			}
			want, err := tr.Verify([][]byte{req.pub}, [][]byte{resp.pub})
			if err != nil {
				t.Fatal(err)
			}
			d, err := got.Verify([][]byte{req.pub}, [][]byte{resp.pub})
			if err != nil {
				t.Fatalf("parsed transcript does not verify: %v", err)
			}
			if d != want {
				t.Fatal("digests changed across the round trip")
			}
		})
	}
}

func TestTranscriptVerifyDetectsTampering(t *testing.T) {
	req, resp, other := newParty(t), newParty(t), newParty(t)
	tests := []struct {
		name         string
		mutate       func(*Transcript)
		reqKey, rKey []byte
		want         error
	}{
		{"count raised", func(tr *Transcript) {
			tr.Header.Count++
			tr.Request.Elements = append(tr.Request.Elements, tr.Request.Elements[0])
			tr.Response.Evaluated = append(tr.Response.Evaluated, tr.Response.Evaluated[0])
		}, req.pub, resp.pub, ErrRequestSignature},
		{"category changed", func(tr *Transcript) { tr.Header.Category = "grey" }, req.pub, resp.pub, ErrRequestSignature},
		{"sequence changed", func(tr *Transcript) { tr.Header.Sequence++ }, req.pub, resp.pub, ErrRequestSignature},
		{"evaluated element changed", func(tr *Transcript) { tr.Response.Evaluated[1][0] ^= 1 }, req.pub, resp.pub, ErrResponseSignature},
		{"proof changed", func(tr *Transcript) { tr.Response.Proof[0] ^= 1 }, req.pub, resp.pub, ErrResponseSignature},
		{"signatures swapped", func(tr *Transcript) {
			tr.RequestSignature, tr.ResponseSignature = tr.ResponseSignature, tr.RequestSignature
		}, req.pub, resp.pub, ErrRequestSignature},
		{"wrong requester key", func(*Transcript) {}, other.pub, resp.pub, ErrRequestSignature},
		{"wrong responder key", func(*Transcript) {}, req.pub, other.pub, ErrResponseSignature},
		{"garbage key", func(*Transcript) {}, []byte("not a key"), resp.pub, ecsig.ErrPublicKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := signedTranscript(t, ProtocolCatalogOPRF, 3, 0, req, resp)
			tt.mutate(tr)
			if _, err := tr.Verify([][]byte{tt.reqKey}, [][]byte{tt.rKey}); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestReadConcatenated(t *testing.T) {
	req, resp := newParty(t), newParty(t)
	var stream bytes.Buffer
	var want [][]byte
	for i := range 3 {
		tr := signedTranscript(t, ProtocolCatalogOPRF, i+1, 0, req, resp)
		enc, err := tr.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, enc)
		stream.Write(enc)
	}
	for i := range want {
		tr, err := Read(&stream)
		if err != nil {
			t.Fatalf("transcript %d: %v", i, err)
		}
		got, err := tr.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[i]) {
			t.Fatalf("transcript %d differs", i)
		}
	}
	if _, err := Read(&stream); !errors.Is(err, ErrMalformed) {
		t.Fatalf("read past the end: got %v, want ErrMalformed", err)
	}
}

func TestParseRejects(t *testing.T) {
	req, resp := newParty(t), newParty(t)
	tr := signedTranscript(t, ProtocolCatalogOPRF, 2, 0, req, resp)
	valid, err := tr.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := tr.Header.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	reqAt := 4 + 1 + 2 + len(hdr) // offset of the request length
	set := func(i int, v ...byte) []byte {
		b := bytes.Clone(valid)
		copy(b[i:], v)
		return b
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"bad magic", set(0, 'X'), ErrMagic},
		{"file version 2", set(4, 2), ErrVersion},
		{"header length over bound", set(5, 0xff, 0xff), ErrMalformed},
		{"request length off by one", set(reqAt, 0, 0, 0, 4+2*32+1), ErrCountMismatch},
		{"request length huge", set(reqAt, 0xff, 0xff, 0xff, 0xff), ErrMalformed},
		{"request count disagrees", set(reqAt+4, 0, 0, 0, 3), ErrCountMismatch},
		{"response length huge", set(reqAt+4+4+2*32, 0x7f, 0, 0, 0), ErrMalformed},
		{"truncated", valid[:len(valid)-1], ErrMalformed},
		{"trailing byte", append(bytes.Clone(valid), 0), ErrTrailingData},
		{"empty requester signature", func() []byte {
			b := bytes.Clone(valid[:len(valid)-len(tr.ResponseSignature)-1-len(tr.RequestSignature)-1])
			return append(b, 0)
		}(), ErrSignatureSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.data); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseResponseRejects(t *testing.T) {
	h, _, resp := testExchange(t, ProtocolCatalogOPRF, 2, 0)
	valid, err := MarshalResponse(h, resp)
	if err != nil {
		t.Fatal(err)
	}
	ecdh, _, ecdhResp := testExchange(t, ProtocolECDHRequesterLearns, 2, 1)
	validECDH, err := MarshalResponse(ecdh, ecdhResp)
	if err != nil {
		t.Fatal(err)
	}
	proofAt := 4 + 2*32
	ownAt := proofAt + 1 + 64
	tests := []struct {
		name string
		h    *Header
		data []byte
		want error
	}{
		{"proof too short", h, func() []byte {
			b := bytes.Clone(valid[:proofAt])
			b = append(b, 63)
			b = append(b, resp.Proof[:63]...)
			return append(b, 0, 0, 0, 0)
		}(), ErrProofSize},
		{"own elements for OPRF exceed the size bound", h, func() []byte {
			b := bytes.Clone(valid[:ownAt])
			b = append(b, 0, 0, 0, 1)
			return append(b, make([]byte, 32)...)
		}(), ErrMalformed},
		{"own count for OPRF", h, set32(valid, ownAt, 1), ErrUnexpectedOwn},
		{"own count over MaxECDHItems", ecdh, func() []byte {
			b := bytes.Clone(validECDH[:4+2*32+1])
			return append(b, 0, 0x40, 0, 1)
		}(), ErrCount},
		{"own element truncated", ecdh, validECDH[:len(validECDH)-1], ErrMalformed},
		{"evaluated count disagrees", h, set32(valid, 0, 1), ErrCountMismatch},
		{"trailing", ecdh, append(bytes.Clone(validECDH), 1), ErrTrailingData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseResponse(tt.h, tt.data); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func set32(b []byte, at int, v uint32) []byte {
	b = bytes.Clone(b)
	b[at], b[at+1], b[at+2], b[at+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return b
}

func TestWriteToRejectsBadSignatures(t *testing.T) {
	req, resp := newParty(t), newParty(t)
	for _, tt := range []struct {
		name string
		sig  []byte
	}{{"missing", nil}, {"too long", make([]byte, ecsig.MaxSignatureSize+1)}} {
		t.Run(tt.name, func(t *testing.T) {
			tr := signedTranscript(t, ProtocolCatalogOPRF, 1, 0, req, resp)
			tr.ResponseSignature = tt.sig
			if _, err := tr.WriteTo(io.Discard); !errors.Is(err, ErrSignatureSize) {
				t.Fatalf("got %v, want ErrSignatureSize", err)
			}
		})
	}
}

// TestReadLargeSections streams an ECDH-PSI transcript whose sections exceed
// the reader's chunk size through a reader that returns short reads.
func TestReadLargeSections(t *testing.T) {
	req, resp := newParty(t), newParty(t)
	tr := signedTranscript(t, ProtocolECDHBothLearn, 40000, 50000, req, resp)
	enc, err := tr.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var streamed bytes.Buffer
	if n, err := tr.WriteTo(&streamed); err != nil || n != int64(len(enc)) || !bytes.Equal(streamed.Bytes(), enc) {
		t.Fatalf("WriteTo wrote %d bytes (err %v), differs from MarshalBinary's %d", n, err, len(enc))
	}
	t.Run("whole", func(t *testing.T) {
		got, err := Read(iotest.HalfReader(bytes.NewReader(enc)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := got.Verify([][]byte{req.pub}, [][]byte{resp.pub}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("truncated in the response", func(t *testing.T) {
		_, err := Read(iotest.HalfReader(bytes.NewReader(enc[:len(enc)-500_000])))
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("got %v, want ErrMalformed", err)
		}
	})
	t.Run("reader error", func(t *testing.T) {
		boom := errors.New("disk on fire")
		_, err := Read(io.MultiReader(bytes.NewReader(enc[:1000]), iotest.ErrReader(boom)))
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want the reader's error", err)
		}
	})
}

func TestReadFile(t *testing.T) {
	req, resp := newParty(t), newParty(t)
	var data []byte
	var want [][]byte
	for i := range 2 {
		enc, err := signedTranscript(t, ProtocolCatalogOPRF, i+1, 0, req, resp).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, enc)
		data = append(data, enc...)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := ReadFile(write("two.rmtx", data))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d transcripts, want %d", len(got), len(want))
	}
	for i, tr := range got {
		if enc, err := tr.MarshalBinary(); err != nil || !bytes.Equal(enc, want[i]) {
			t.Fatalf("transcript %d differs (%v)", i+1, err)
		}
	}
	if _, err := ReadFile(write("empty.rmtx", nil)); err == nil {
		t.Fatal("an empty file read without error")
	}
	// A cut second transcript names its position.
	_, err = ReadFile(write("cut.rmtx", data[:len(data)-10]))
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "cut.rmtx: transcript 2:") {
		t.Fatalf("cut file: got %v, want ErrMalformed naming transcript 2", err)
	}
}
