package daemon

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/identity/identitytest"
)

// An embedded ledger file opened by a tool acts as the institution of
// --identity (which may not onboard), or without one as the regulator
// (which may); while one tool holds the file, another cannot open it.
func TestLedgerSourceOpensTheEmbeddedFileAsItsInstitution(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.db")
	store, err := accounting.OpenEmbedded(path, accounting.EmbeddedConfig{Regulator: "RegMSP"})
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	idDir := filepath.Join(t.TempDir(), "bank1")
	identitytest.New(t, idDir, "Bank1MSP")

	bank, err := LedgerSource{LedgerDB: path, Regulator: "RegMSP", IdentityDir: idDir}.Open()
	if err != nil {
		t.Fatal(err)
	}
	if bank.Identity == nil || bank.Identity.MSPID != "Bank1MSP" || bank.IdentityDir != idDir || bank.DataDir != dir {
		t.Errorf("opened %+v", bank)
	}
	if err := bank.Ledger.AddInstitution(t.Context(), "Lender2MSP", "Lender", []accounting.Role{accounting.RoleRequester}); err == nil {
		t.Error("a member onboarded an institution")
	}
	if _, err := (LedgerSource{LedgerDB: path, Regulator: "RegMSP"}).Open(); err == nil || !strings.Contains(err.Error(), "is a node running") {
		t.Errorf("second open of a held file: %v", err)
	}
	if err := bank.Close(); err != nil {
		t.Fatal(err)
	}

	reg, err := LedgerSource{LedgerDB: path, Regulator: "RegMSP"}.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if reg.Identity != nil || reg.IdentityDir != "" {
		t.Errorf("an identity without --identity: %+v", reg)
	}
	if err := reg.Ledger.AddInstitution(t.Context(), "Lender2MSP", "Lender", []accounting.Role{accounting.RoleRequester}); err != nil {
		t.Errorf("the regulator could not onboard: %v", err)
	}
}

// A ledger path that names no file is an error naming it, not a new empty
// ledger created where the operator mistyped.
func TestLedgerSourceRefusesAMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.db")
	if _, err := (LedgerSource{LedgerDB: path, Regulator: "RegMSP"}).Open(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open of a missing file: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the missing ledger was created: %v", err)
	}
}

// A tool reaching the ledger as the node a node.yaml configures (`riskmesh
// audit serve --config`) opens the PKCS#11 token keys.hsm names and loads
// the node's keys from it, as the node does: the identity it returns signs
// in the token, and the token stays open until Close.
func TestLedgerSourceLoadsTokenKeys(t *testing.T) {
	tokCfg := identitytest.SoftHSM(t, "tool")
	tok := identitytest.OpenToken(t, tokCfg)
	dir := t.TempDir()
	ks := identity.Keystore{Dir: filepath.Join(dir, "identity"), Token: tok,
		Place: identity.Placement{Signing: identity.InToken, TLS: identity.InToken, OPRF: identity.InToken}}
	if err := ks.Generate("AuditorMSP", nil, nil, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_TOOL_PIN", tokCfg.PIN)
	yaml := fmt.Sprintf(`msp_id: AuditorMSP
data_dir: data
identity_dir: identity
keys:
  hsm: {module: %s, token_label: tool, pin_env: TEST_TOOL_PIN}
ledger:
  backend: embedded-remote
  remote: {msp_id: RegulatorMSP, endpoint: 127.0.0.1:1, tls_fingerprint: %s}
`, tokCfg.Module, strings.Repeat("ab", 32))
	path := filepath.Join(dir, "node.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := LedgerSource{ConfigFile: path, NeedIdentity: true}.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Token == nil || l.Identity == nil {
		t.Fatalf("token %v, identity %v: want both", l.Token, l.Identity)
	}
	digest := sha256.Sum256([]byte("verdict"))
	sig, err := l.Identity.Sign(digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := ecsig.Verify(l.Identity.SigningKey, digest[:], sig); err != nil {
		t.Fatalf("token signature: %v", err)
	}
}
