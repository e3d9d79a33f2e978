package identity

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/internal/ecsig"
)

// seedIdentity adds the files of a generated identity as seeds.
func seedIdentity(f *testing.F, names ...string) {
	f.Helper()
	dir := filepath.Join(f.TempDir(), "id")
	if err := Generate(dir, "Bank1MSP", []string{"black"}, nil, "node.example"); err != nil {
		f.Fatal(err)
	}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{})
	f.Add([]byte("-----BEGIN X-----\n-----END X-----\n"))
}

func FuzzParseCertificate(f *testing.F) {
	seedIdentity(f, TLSCertFile, TLSKeyFile)
	f.Fuzz(func(t *testing.T, data []byte) {
		cert, err := ParseCertificate(data)
		if err != nil {
			return
		}
		again, err := ParseCertificate(encodePEM(pemCertificate, cert.Raw))
		if err != nil || !bytes.Equal(again.Raw, cert.Raw) {
			t.Fatalf("re-encoded certificate does not round-trip: %v", err)
		}
	})
}

func FuzzParsePrivateKey(f *testing.F) {
	seedIdentity(f, TLSKeyFile, SigningKeyFile, SigningPubFile)
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := ParsePrivateKey(data)
		if err != nil {
			return
		}
		enc, err := marshalPrivateKey(key)
		if err != nil {
			t.Fatalf("parsed key does not encode: %v", err)
		}
		again, err := ParsePrivateKey(enc)
		if err != nil || !again.Equal(key) {
			t.Fatalf("re-encoded key does not round-trip: %v", err)
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	seedIdentity(f, SigningPubFile, TLSCertFile)
	f.Fuzz(func(t *testing.T, data []byte) {
		key, der, err := ParsePublicKey(data)
		if err != nil {
			return
		}
		again, againDER, err := ParsePublicKey(encodePEM(pemPublicKey, der))
		if err != nil || !again.Equal(key) || !bytes.Equal(againDER, der) {
			t.Fatalf("re-encoded public key does not round-trip: %v", err)
		}
	})
}

func FuzzParseOPRFKey(f *testing.F) {
	seedIdentity(f, OPRFKeyFile("black"), SigningKeyFile)
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := ParseOPRFKey(data)
		if err != nil {
			return
		}
		enc, err := marshalOPRFKey(key)
		if err != nil {
			t.Fatalf("parsed key does not encode: %v", err)
		}
		again, err := ParseOPRFKey(enc)
		if err != nil || !again.Public().Equal(key.Public()) {
			t.Fatalf("re-encoded OPRF key does not round-trip: %v", err)
		}
	})
}

func FuzzParseConsortium(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "id")
	if err := Generate(dir, "Bank1MSP", []string{"black"}, nil); err != nil {
		f.Fatal(err)
	}
	m, err := ReadMember(dir)
	if err != nil {
		f.Fatal(err)
	}
	c, err := NewConsortium([]Member{m})
	if err != nil {
		f.Fatal(err)
	}
	data, err := c.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"members": [{"msp_id": "A", "name": "A", "roles": ["auditor"], "tls_fingerprint": "00", "signing_key": ""}]}`))
	f.Add([]byte("members: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConsortium(data)
		if err != nil {
			return
		}
		enc, err := c.Marshal()
		if err != nil {
			t.Fatalf("parsed consortium does not encode: %v", err)
		}
		again, err := ParseConsortium(enc)
		if err != nil || !reflect.DeepEqual(again.Members(), c.Members()) {
			t.Fatalf("re-encoded consortium does not round-trip: %v", err)
		}
	})
}

// FuzzParseFingerprint: an accepted fingerprint is exactly its canonical
// form, up to case and a colon between every two digits.
func FuzzParseFingerprint(f *testing.F) {
	const plain = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	f.Add(plain)
	f.Add("9F:86:D0:81:88:4C:7D:65:9A:2F:EA:A0:C5:5A:D0:15:A3:BF:4F:1B:2B:0B:82:2C:D1:5D:6C:15:B0:F0:0A:08")
	f.Add("9f86:d0" + plain[6:])
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := ParseFingerprint(s)
		if err != nil {
			return
		}
		canonical := fp.String()
		withColons := make([]string, len(fp))
		for i := range fp {
			withColons[i] = canonical[2*i : 2*i+2]
		}
		if l := strings.ToLower(s); l != canonical && l != strings.Join(withColons, ":") {
			t.Fatalf("ParseFingerprint(%q) accepted as %s", s, canonical)
		}
	})
}

// FuzzParseTokenRef reads arbitrary reference files: no panic, and a
// reference that parses re-encodes to the same bytes (one encoding per
// reference, so two files cannot name one key differently).
func FuzzParseTokenRef(f *testing.F) {
	seedIdentity(f, SigningPubFile)
	_, pub, err := ecsig.GenerateKey(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(marshalTokenRef(bytes.Repeat([]byte{7}, keyIDSize), pub))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parsePrivateFile(data)
		if err != nil || p.ref == nil {
			return
		}
		raw, err := decodePEM(data, pemTokenKey)
		if err != nil {
			t.Fatalf("parsed a reference that does not decode: %v", err)
		}
		again, err := decodePEM(marshalTokenRef(p.ref.id, p.ref.der), pemTokenKey)
		if err != nil || !bytes.Equal(raw, again) {
			t.Fatalf("reference %x re-encodes as %x", raw, again)
		}
		if !p.public().Equal(p.ref.pub) {
			t.Fatal("public() is not the reference's key")
		}
	})
}
