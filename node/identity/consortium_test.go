package identity

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
)

func TestConsortiumFromIdentities(t *testing.T) {
	provider := generate(t, "Bank1MSP", "black")
	requester := generate(t, "Lender2MSP")
	// ReadMember needs only the public files: remove the private ones.
	for _, dir := range []string{provider, requester} {
		for _, name := range []string{TLSKeyFile, SigningKeyFile} {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	os.Chmod(filepath.Join(provider, OPRFKeyFile("black")), 0)

	var members []Member
	for _, dir := range []string{provider, requester} {
		m, err := ReadMember(dir)
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, m)
	}
	if want := []accounting.Role{accounting.RoleRequester, accounting.RoleProvider}; !reflect.DeepEqual(members[0].Roles, want) {
		t.Errorf("provider roles %v, want %v", members[0].Roles, want)
	}
	if want := []accounting.Role{accounting.RoleRequester}; !reflect.DeepEqual(members[1].Roles, want) {
		t.Errorf("requester roles %v, want %v", members[1].Roles, want)
	}
	if members[0].Name != "Bank1MSP" {
		t.Errorf("default name %q", members[0].Name)
	}

	c, err := NewConsortium(members)
	if err != nil {
		t.Fatal(err)
	}
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseConsortium(data)
	if err != nil {
		t.Fatalf("parse marshalled file: %v\n%s", err, data)
	}
	if !reflect.DeepEqual(parsed.Members(), members) {
		t.Errorf("round trip changed the members:\n%+v\n%+v", parsed.Members(), members)
	}

	t.Run("authorize", func(t *testing.T) {
		msp, err := parsed.Authorize(members[1].TLSFingerprint)
		if err != nil || msp != "Lender2MSP" {
			t.Errorf("Authorize = %q, %v", msp, err)
		}
		if _, err := parsed.Authorize([32]byte{1}); !errors.Is(err, ErrUnknownMember) {
			t.Errorf("Authorize(unknown) = %v, want ErrUnknownMember", err)
		}
	})
	t.Run("member", func(t *testing.T) {
		if m, ok := parsed.Member("Bank1MSP"); !ok || m.TLSFingerprint != members[0].TLSFingerprint {
			t.Errorf("Member(Bank1MSP) = %+v, %v", m, ok)
		}
		if _, ok := parsed.Member("Nobody"); ok {
			t.Error("Member(Nobody) found")
		}
	})
	t.Run("load file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "consortium.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		loaded, err := LoadConsortium(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(loaded.Members()) != 2 {
			t.Errorf("%d members", len(loaded.Members()))
		}
	})
}

// consortiumYAML returns a valid file for two generated members, with edit
// applied to its text.
func consortiumYAML(t *testing.T) string {
	t.Helper()
	var members []Member
	for _, msp := range []string{"Bank1MSP", "Lender2MSP"} {
		m, err := ReadMember(generate(t, msp))
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, m)
	}
	c, err := NewConsortium(members)
	if err != nil {
		t.Fatal(err)
	}
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestParseConsortiumRejects(t *testing.T) {
	valid := consortiumYAML(t)
	lines := strings.Split(valid, "\n")
	field := func(key string, member int) string {
		n := 0
		for _, l := range lines {
			if strings.Contains(l, key+":") {
				if n == member {
					return l
				}
				n++
			}
		}
		t.Fatalf("no %s line %d in\n%s", key, member, valid)
		return ""
	}
	replace := func(old, new string) string { return strings.Replace(valid, old, new, 1) }
	fp0 := strings.TrimSpace(strings.SplitN(field("tls_fingerprint", 0), ":", 2)[1])
	fp1 := strings.TrimSpace(strings.SplitN(field("tls_fingerprint", 1), ":", 2)[1])

	tests := []struct {
		name, file, want string
	}{
		{"empty", "", "empty file"},
		{"no members", "members: []\n", "no members"},
		{"unknown key", replace("name:", "nmae:"), "field nmae not found"},
		{"unknown top-level key", valid + "extra: 1\n", "field extra not found"},
		{"second document", valid + "---\nmembers: []\n", "more than one YAML document"},
		{"duplicate MSP id", replace("Lender2MSP", "Bank1MSP"), "listed twice"},
		{"duplicate fingerprint", replace(fp1, fp0), "fingerprint already listed"},
		{"bad role", replace("requester", "admin"), "unknown role"},
		{"no roles", replace("roles: [requester]", "roles: []"), "no roles"},
		{"short fingerprint", replace(fp0, fp0[2:]), "64 hex digits"},
		{"fingerprint not hex", replace(fp0, "zz"+fp0[2:]), "64 hex digits"},
		{"signing key not base64", replace("signing_key: ", "signing_key: =="), "not base64"},
		{"signing key not a key", replace("signing_key: ", "signing_key: AAAA"), "signing key"},
		{"bad MSP id", replace("Bank1MSP", "Bank 1"), "invalid MSP id"},
		{"too large", strings.Repeat("#", MaxConsortiumSize+1), "file too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConsortium([]byte(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseConsortium: %v, want an error containing %q", err, tt.want)
			}
		})
	}
	t.Run("unknown key reports its line", func(t *testing.T) {
		_, err := ParseConsortium([]byte(replace("name:", "nmae:")))
		if err == nil || !strings.Contains(err.Error(), "line 5") {
			t.Errorf("ParseConsortium: %v, want the line number", err)
		}
	})
}

func TestParseFingerprint(t *testing.T) {
	const hexFP = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	want, err := ParseFingerprint(hexFP)
	if err != nil {
		t.Fatal(err)
	}
	if want.String() != hexFP {
		t.Errorf("round trip %s", want)
	}
	colons := strings.ToUpper(hexFP[:2])
	for i := 2; i < len(hexFP); i += 2 {
		colons += ":" + strings.ToUpper(hexFP[i:i+2])
	}
	for _, s := range []string{strings.ToUpper(hexFP), colons} {
		if got, err := ParseFingerprint(s); err != nil || got != want {
			t.Errorf("ParseFingerprint(%s) = %s, %v", s, got, err)
		}
	}
	for _, bad := range []string{
		"", hexFP[:62], hexFP + "00", "zz" + hexFP[2:], colons + strings.Repeat(":", 200),
		colons[:len(colons)-3], colons + ":00", ":" + colons[:len(colons)-1], // a byte short, long, shifted
		strings.ReplaceAll(colons, ":", "-"), colons[:2] + "::" + colons[4:], // another separator, doubled
		"9:F86D0" + strings.Repeat("0", 88), hexFP[:10] + ":" + hexFP[10:], // colons not between bytes
	} {
		if _, err := ParseFingerprint(bad); !errors.Is(err, ErrFingerprint) {
			t.Errorf("ParseFingerprint(%q) = %v, want ErrFingerprint", bad, err)
		}
	}
}

// WriteFile never replaces a consortium file by accident: without replace
// it fails with ErrExists and leaves the old file; with it, the new
// members are written and parse back.
func TestConsortiumWriteFile(t *testing.T) {
	bank, lender := generate(t, "Bank1MSP", "black"), generate(t, "Lender2MSP")
	path := filepath.Join(t.TempDir(), "consortium.yaml")
	one, err := ConsortiumOf([]string{bank})
	if err != nil {
		t.Fatal(err)
	}
	if err := one.WriteFile(path, false); err != nil {
		t.Fatal(err)
	}
	two, err := ConsortiumOf([]string{bank, lender})
	if err != nil {
		t.Fatal(err)
	}
	if err := two.WriteFile(path, false); !errors.Is(err, ErrExists) {
		t.Fatalf("overwrote without replace: %v", err)
	}
	read := func() []Member {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ParseConsortium(data)
		if err != nil {
			t.Fatal(err)
		}
		return c.Members()
	}
	if got := read(); len(got) != 1 || got[0].MSPID != "Bank1MSP" {
		t.Fatalf("the refused write changed the file: %+v", got)
	}
	if err := two.WriteFile(path, true); err != nil {
		t.Fatal(err)
	}
	if got := read(); len(got) != 2 || got[1].MSPID != "Lender2MSP" {
		t.Fatalf("replaced file holds %+v", got)
	}
	if _, err := ConsortiumOf([]string{t.TempDir()}); err == nil {
		t.Error("a directory without identity files made a consortium")
	}
}
