package auditor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/testwait"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/identity/identitytest"
	"github.com/riskmesh/riskmesh/node/registry"
)

// TestAuditorFollowsRotatedKeys: once the registry holds the keys the
// auditor institution's node rotated in the identity directory the service
// shares, the service signs and serves with them: with file keys, and with
// keys in a PKCS#11 token (SoftHSM2) the node and the service share.
func TestAuditorFollowsRotatedKeys(t *testing.T) {
	t.Run("files", func(t *testing.T) {
		regDir := filepath.Join(t.TempDir(), audittest.Regulator)
		identitytest.New(t, regDir, audittest.Regulator)
		followsRotatedKeys(t, identity.Keystore{Dir: regDir})
	})
	t.Run("token", func(t *testing.T) {
		tok := identitytest.OpenToken(t, identitytest.SoftHSM(t, "auditor"))
		ks := identity.Keystore{Dir: filepath.Join(t.TempDir(), audittest.Regulator), Token: tok,
			Place: identity.Placement{Signing: identity.InToken, TLS: identity.InToken, OPRF: identity.InToken}}
		if err := ks.Generate(audittest.Regulator, nil, nil, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		followsRotatedKeys(t, ks)
	})
}

func followsRotatedKeys(t *testing.T, ks identity.Keystore) {
	t.Helper()
	id, err := ks.Load()
	if err != nil {
		t.Fatal(err)
	}
	c := audittest.New(t, t.TempDir(), map[string]audittest.Keys{
		audittest.Regulator: {Sign: id.Sign, SigningKey: id.SigningKey, TLSFingerprint: id.Fingerprint[:]},
	})
	live := identity.NewLive(id)
	d := registry.New(c.Regulator.Ledger, registry.Options{Refresh: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go d.Run(ctx)
	go func() { followIdentity(ctx, d, live, ks, slog.New(slog.DiscardHandler)); close(stopped) }()
	defer func() { cancel(); <-stopped }()

	pub, err := ks.RotateSigningKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Regulator.Ledger.UpdateProfile(audittest.Context(t), accounting.Profile{SigningKey: pub}); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the service on the registered rotated key", 10*time.Second, func() error {
		if !bytes.Equal(live.Load().SigningKey, pub) {
			return errors.New("still the old signing key")
		}
		return nil
	})
	digest := sha256.Sum256([]byte("verdict"))
	sig, err := live.Sign(digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := ecsig.Verify(pub, digest[:], sig); err != nil {
		t.Fatalf("the service's signature after the switch: %v", err)
	}
}

// TestRunRefusesIncompleteConfig: Run names what is missing instead of
// serving without a ledger, keys or a dispute store.
func TestRunRefusesIncompleteConfig(t *testing.T) {
	regDir := filepath.Join(t.TempDir(), audittest.Regulator)
	id := identitytest.New(t, regDir, audittest.Regulator)
	c := audittest.New(t, t.TempDir(), nil)
	full := RunConfig{Ledger: c.Regulator.Ledger, Identity: id, IdentityDir: regDir,
		DBPath: filepath.Join(t.TempDir(), "auditor.db"), Listen: "127.0.0.1:0"}
	// Cancelled: a check that let a field through would end in another
	// error, or nil, not hang serving.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, drop := range map[string]func(*RunConfig){
		"Ledger":      func(r *RunConfig) { r.Ledger = nil },
		"Identity":    func(r *RunConfig) { r.Identity = nil },
		"IdentityDir": func(r *RunConfig) { r.IdentityDir = "" },
		"DBPath":      func(r *RunConfig) { r.DBPath = "" },
		"Listen":      func(r *RunConfig) { r.Listen = "" },
	} {
		cfg := full
		drop(&cfg)
		if err := Run(ctx, cfg); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Run without %s: %v", name, err)
		}
	}
}
