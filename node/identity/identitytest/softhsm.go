package identitytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/riskmesh/riskmesh/node/identity"
)

// softHSMModules are where distributions install SoftHSM2's PKCS#11
// library; SOFTHSM2_MODULE names another.
var softHSMModules = []string{
	"/usr/lib/softhsm/libsofthsm2.so",                   // Debian, Ubuntu
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",  // Debian multiarch
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", // Debian multiarch
	"/usr/lib64/pkcs11/libsofthsm2.so",                  // Fedora
	"/usr/local/lib/softhsm/libsofthsm2.so",             // built from source
}

// TokenPIN is the user PIN of the tokens SoftHSM makes.
const TokenPIN = "2718"

// SoftHSM creates a fresh SoftHSM2 token labelled label in a directory of
// its own (SOFTHSM2_CONF points there for the rest of the test, so tests
// that use it cannot run in parallel) and returns how to open it. Further
// calls in one test add tokens beside the first.
//
// Without SoftHSM2 installed the test is skipped, except under CI=true,
// where the CI script installs it (.ci/run) and a skip would hide that the
// HSM tests did not run: there it fails.
func SoftHSM(t testing.TB, label string) identity.TokenConfig {
	t.Helper()
	module := os.Getenv("SOFTHSM2_MODULE")
	for _, m := range softHSMModules {
		if module != "" {
			break
		}
		if _, err := os.Stat(m); err == nil {
			module = m
		}
	}
	util, err := exec.LookPath("softhsm2-util")
	if module == "" || err != nil {
		msg := "SoftHSM2 is not installed (apt-get install softhsm2): the PKCS#11 tests need a real token"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	conf := os.Getenv("SOFTHSM2_CONF")
	if !isTestConf(t, conf) {
		dir := t.TempDir()
		tokens := filepath.Join(dir, "tokens")
		if err := os.Mkdir(tokens, 0o700); err != nil {
			t.Fatal(err)
		}
		conf = filepath.Join(dir, "softhsm2.conf")
		body := "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n"
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("SOFTHSM2_CONF", conf)
	}
	out, err := exec.Command(util, "--init-token", "--free", "--label", label, "--pin", TokenPIN, "--so-pin", "31415").CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return identity.TokenConfig{Module: module, Label: label, PIN: TokenPIN}
}

// isTestConf reports whether conf is a configuration SoftHSM made for this
// test (under its temporary directories), so a second token joins it.
func isTestConf(t testing.TB, conf string) bool {
	if conf == "" {
		return false
	}
	base := filepath.Dir(t.TempDir())
	rel, err := filepath.Rel(base, conf)
	return err == nil && filepath.IsLocal(rel)
}

// OpenToken opens cfg's token and closes it when the test ends.
func OpenToken(t testing.TB, cfg identity.TokenConfig) *identity.Token {
	t.Helper()
	tok, err := identity.OpenToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tok.Close() })
	return tok
}
