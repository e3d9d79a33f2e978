package daemon_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/daemon"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/identity/identitytest"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// TestHSMNode runs the ledger-hosting node with its TLS and signing keys
// in a SoftHSM2 token and its data sealed under a token key: members shake
// hands with its token TLS key, its backups are sealed and unseal to a
// node.db and a ledger whose log verifies, and it restarts on the same
// token. Then the ways the token can fail it are each a refusal to start:
// a signing key gone from the token, a wrong PIN, and the data-at-rest
// KEK gone.
func TestHSMNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	ctx := context.Background()
	tokCfg := identitytest.SoftHSM(t, "node")
	all := identity.Placement{Signing: identity.InToken, TLS: identity.InToken, OPRF: identity.InToken}
	dir := filepath.Join(t.TempDir(), regulator)
	m := &member{msp: regulator, dir: dir, idDir: filepath.Join(dir, "identity"), endpoint: freeUDP(t)}
	tok, err := identity.OpenToken(tokCfg)
	if err != nil {
		t.Fatal(err)
	}
	var closeOnce sync.Once
	closeTok := func() { closeOnce.Do(func() { tok.Close() }) }
	t.Cleanup(closeTok)
	ks := identity.Keystore{Dir: m.idDir, Token: tok, Place: all}
	if err := ks.Generate(regulator, nil, nil, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if m.id, err = ks.Load(); err != nil {
		t.Fatal(err)
	}
	cfg := daemon.Config{MSPID: regulator, DataDir: dir, IdentityDir: m.idDir, PeerListen: m.endpoint,
		Keys:     daemon.KeysConfig{HSM: &tokCfg, Place: all, AtRest: daemon.AtRestHSM},
		Ledger:   daemon.LedgerConfig{Backend: daemon.BackendEmbedded, ConsortiumFile: consortiumFile(t, m, newMember(t, "Bank1MSP"))},
		Registry: registry.Options{Refresh: 200 * time.Millisecond}}

	backup := func(t *testing.T) {
		t.Helper()
		stop := run(t, cfg)
		defer stop()
		// The test dials with the same token keys: both ends of the
		// mutual-TLS handshake sign in the token.
		admin, closer := daemon.DialLedgerHost(m.id, m.endpoint, regulator, m.id.Fingerprint, peer.Config{})
		defer closer.Close()
		eventually(t, "ledger host reachable with token TLS keys", func() error { _, err := admin.Institutions(ctx); return err })
		out := t.TempDir()
		var resp *riskmeshv1.BackupResponse
		eventually(t, "backup", func() error {
			var err error
			resp, err = apiClient(t, m).Backup(ctx, &riskmeshv1.BackupRequest{Dir: out})
			return err
		})
		for _, f := range resp.GetFiles() {
			if !strings.HasSuffix(f.GetPath(), ".db.sealed") {
				t.Fatalf("backup %s is not sealed", f.GetPath())
			}
			plain := filepath.Join(t.TempDir(), "plain.db")
			if err := daemon.UnsealBackup(cfg, f.GetPath(), plain); err != nil {
				t.Fatalf("unseal %s: %v", f.GetPath(), err)
			}
			if f.GetKind() == riskmeshv1.BackupKind_BACKUP_KIND_LEDGER {
				head, err := accounting.VerifyLogFile(ctx, plain, nil)
				if err != nil || head.Sequence != f.GetLedgerHead().GetSequence() || !bytes.Equal(head.Hash[:], f.GetLedgerHead().GetHash()) {
					t.Fatalf("unsealed ledger: head %d, %v; response says %v", head.Sequence, err, f.GetLedgerHead())
				}
				continue
			}
			db, err := bolt.Open(plain, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
			if err != nil {
				t.Fatalf("unsealed node.db: %v", err)
			}
			db.Close()
		}
	}
	t.Run("start and back up", backup)
	t.Run("rotate the signing key in the token", func(t *testing.T) {
		stop := run(t, cfg)
		defer stop()
		var resp *riskmeshv1.RotateKeysResponse
		eventually(t, "rotation", func() error {
			var err error
			resp, err = apiClient(t, m).RotateKeys(ctx, &riskmeshv1.RotateKeysRequest{Kind: riskmeshv1.KeyKind_KEY_KIND_SIGNING})
			return err
		})
		id, err := ks.Load()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(id.SigningKey, resp.GetPublicKey()) || bytes.Equal(id.SigningKey, m.id.SigningKey) {
			t.Fatal("the identity directory does not name the rotated signing key")
		}
		digest := make([]byte, 32)
		if _, err := m.id.Sign(digest); err == nil {
			t.Fatal("the replaced signing key is still in the token after the rotation was registered")
		}
		if _, err := id.Sign(digest); err != nil {
			t.Fatalf("the new signing key does not sign: %v", err)
		}
		m.id = id
	})
	t.Run("restart on the same token", backup)

	startErr := func(cfg daemon.Config) error {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		return daemon.Run(ctx, cfg)
	}
	t.Run("data-at-rest KEK gone", func(t *testing.T) {
		next, err := tok.RotateSealKEK(regulator)
		if err != nil {
			t.Fatal(err)
		}
		// Destroys the KEK that wrapped seal.key, keeping only next.
		if err := tok.DiscardSealKEKs(regulator, next); err != nil {
			t.Fatal(err)
		}
		if err := startErr(cfg); !errors.Is(err, seal.ErrKEK) {
			t.Fatalf("start without the KEK: %v, want seal.ErrKEK", err)
		}
	})
	t.Run("signing key gone", func(t *testing.T) {
		saved := map[string][]byte{}
		for _, f := range []string{identity.SigningKeyFile, identity.SigningPubFile} {
			if saved[f], err = os.ReadFile(filepath.Join(m.idDir, f)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ks.RotateSigningKey(nil); err != nil {
			t.Fatal(err)
		}
		if err := ks.DiscardRetired(); err != nil {
			t.Fatal(err)
		}
		for f, data := range saved {
			if err := os.WriteFile(filepath.Join(m.idDir, f), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := startErr(cfg); !errors.Is(err, identity.ErrKeyMissing) {
			t.Fatalf("start with the signing key gone: %v, want ErrKeyMissing", err)
		}
	})
	// PKCS#11 logs a whole process in: with the test's own session to
	// the token closed, the node's login is the only one.
	closeTok()
	t.Run("wrong PIN", func(t *testing.T) {
		bad := cfg
		wrong := tokCfg
		wrong.PIN = "55555"
		bad.Keys.HSM = &wrong
		err := startErr(bad)
		if !errors.Is(err, identity.ErrTokenLogin) || strings.Contains(err.Error(), wrong.PIN) {
			t.Fatalf("start with a wrong PIN: %v, want ErrTokenLogin without the PIN", err)
		}
	})
}
