package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
)

// TestInstitutionViewPrintsHexFingerprint: `ledger institutions` writes the
// TLS fingerprint as the 64 hex digits node.yaml takes, not base64.
func TestInstitutionViewPrintsHexFingerprint(t *testing.T) {
	fp := bytes.Repeat([]byte{0xab}, 32)
	var out strings.Builder
	if err := printJSON(&out, institutionViews([]accounting.Institution{{MSPID: "Bank1MSP", TLSFingerprint: fp}})); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out.String()), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0]["tlsFingerprint"] != strings.Repeat("ab", 32) || got[0]["mspId"] != "Bank1MSP" {
		t.Errorf("printed %s", out.String())
	}
}
