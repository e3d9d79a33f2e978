package accounting_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
)

// TestInstitutionViewPrintsHexFingerprint: `ledger institutions` writes the
// TLS fingerprint as the 64 hex digits node.yaml takes, and the OPRF keys
// in hex too, not base64.
func TestInstitutionViewPrintsHexFingerprint(t *testing.T) {
	fp := bytes.Repeat([]byte{0xab}, 32)
	out, err := json.Marshal(accounting.InstitutionViews([]accounting.Institution{{MSPID: "Bank1MSP", TLSFingerprint: fp,
		OPRFKeys: map[string][]byte{"black": bytes.Repeat([]byte{0xcd}, 32)}}}))
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0]["tlsFingerprint"] != strings.Repeat("ab", 32) || got[0]["mspId"] != "Bank1MSP" ||
		got[0]["oprfKeys"].(map[string]any)["black"] != strings.Repeat("cd", 32) {
		t.Errorf("printed %s", out)
	}
}

// `ledger catalog` writes the digest and the OPRF key in hex.
func TestCatalogViewPrintsHex(t *testing.T) {
	c := accounting.Catalog{MSPID: "Bank1MSP", Category: "black", Period: 2, Digest: []byte{1, 2}, OPRFKey: []byte{0xcd}}
	out, err := json.Marshal(accounting.NewCatalogView(&c))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"digest":"0102"`) || !strings.Contains(string(out), `"oprfKey":"cd"`) ||
		strings.Contains(string(out), "AQI=") {
		t.Errorf("printed %s", out)
	}
}
