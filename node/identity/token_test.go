package identity_test

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/identity/identitytest"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// inToken places every key in the token.
var inToken = identity.Placement{Signing: identity.InToken, TLS: identity.InToken, OPRF: identity.InToken}

// tokenIdentity generates msp's identity with every key in tok and loads
// it.
func tokenIdentity(t *testing.T, tok *identity.Token, msp string, categories ...string) (identity.Keystore, *identity.Identity) {
	t.Helper()
	ks := identity.Keystore{Dir: filepath.Join(t.TempDir(), msp), Token: tok, Place: inToken}
	if err := ks.Generate(msp, categories, nil, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	id, err := ks.Load()
	if err != nil {
		t.Fatal(err)
	}
	return ks, id
}

// assertSigns checks that id's signature over a digest verifies against
// the signing key id carries, with ecsig's verifier (the one transcripts
// and the ledger use).
func assertSigns(t *testing.T, id *identity.Identity) {
	t.Helper()
	digest := sha256.Sum256([]byte("transcript"))
	sig, err := id.Sign(digest[:])
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	if err := ecsig.Verify(id.SigningKey, digest[:], sig); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
}

// pemTypes returns the PEM block types in the file name of dir.
func pemTypes(t *testing.T, dir, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return types
		}
		types = append(types, b.Type)
	}
}

func TestTokenIdentity(t *testing.T) {
	tok := identitytest.OpenToken(t, identitytest.SoftHSM(t, "node"))
	ks, id := tokenIdentity(t, tok, "Bank1MSP", "fraud")

	t.Run("no private key on disk", func(t *testing.T) {
		for name, want := range map[string]string{
			identity.TLSKeyFile:           "RISKMESH PKCS11 KEY",
			identity.SigningKeyFile:       "RISKMESH PKCS11 KEY",
			identity.OPRFKeyFile("fraud"): "RISKMESH WRAPPED OPRF PRIVATE KEY",
			identity.TLSCertFile:          "CERTIFICATE",
			identity.SigningPubFile:       "PUBLIC KEY",
		} {
			if got := pemTypes(t, ks.Dir, name); len(got) != 1 || got[0] != want {
				t.Errorf("%s holds %v, want one %q", name, got, want)
			}
		}
		if _, ok := id.Certificate.PrivateKey.(*ecdsa.PrivateKey); ok {
			t.Error("the TLS key was loaded into memory")
		}
	})
	t.Run("signatures verify", func(t *testing.T) { assertSigns(t, id) })
	t.Run("OPRF key unwraps to the same key", func(t *testing.T) {
		again, err := ks.Load()
		if err != nil {
			t.Fatal(err)
		}
		a, _ := id.OPRFKey("fraud")
		b, ok := again.OPRFKey("fraud")
		if !ok || !a.Public().Equal(b.Public()) {
			t.Fatal("the wrapped OPRF key unwrapped to another key")
		}
	})
	t.Run("without the token", func(t *testing.T) {
		_, err := identity.Load(ks.Dir)
		if !errors.Is(err, identity.ErrToken) {
			t.Fatalf("Load without a token: %v, want ErrToken", err)
		}
	})
	t.Run("signing key placed in a token that is not open", func(t *testing.T) {
		noToken := identity.Keystore{Dir: ks.Dir, Place: inToken}
		if _, err := noToken.RotateSigningKey(nil); !errors.Is(err, identity.ErrToken) {
			t.Fatalf("rotate without a token: %v, want ErrToken", err)
		}
	})
}

// TestTokenTLSOverPeerTransport runs a mutual-TLS QUIC handshake whose
// both ends sign with TLS keys in the token.
func TestTokenTLSOverPeerTransport(t *testing.T) {
	tok := identitytest.OpenToken(t, identitytest.SoftHSM(t, "node"))
	_, regulator := tokenIdentity(t, tok, "RegulatorMSP")
	_, member := tokenIdentity(t, tok, "Bank1MSP")
	ctx := t.Context()
	consortium, srv, seen := identity.ServePeers(t, regulator, member)
	c, err := peer.Dial(ctx, srv.Addr().String(), peer.Config{Certificate: member.Certificate, Authorizer: consortium})
	if err != nil {
		t.Fatalf("dial with a token TLS key: %v", err)
	}
	defer c.Close()
	if c.Peer().MSPID != "RegulatorMSP" {
		t.Errorf("member reached %q", c.Peer().MSPID)
	}
	req := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogInfo{CatalogInfo: &riskmeshv1.CatalogInfoRequest{}}}
	if _, err := c.Do(ctx, req); err != nil {
		t.Fatalf("request: %v", err)
	}
	if who := <-seen; who != "Bank1MSP" {
		t.Errorf("regulator saw %q", who)
	}
}

// TestTokenRotation rotates every key in the token: the identity loaded
// before keeps signing with the replaced key until DiscardRetired, as the
// node keeps it until the ledger has the new one; the replaced OPRF key
// becomes the previous key.
func TestTokenRotation(t *testing.T) {
	tok := identitytest.OpenToken(t, identitytest.SoftHSM(t, "node"))
	ks, before := tokenIdentity(t, tok, "Bank1MSP", "fraud")

	pub, err := ks.RotateSigningKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := ks.RotateTLSCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	oprfPub, err := ks.RotateOPRFKey("fraud", nil)
	if err != nil {
		t.Fatal(err)
	}
	after, err := ks.Load()
	if err != nil {
		t.Fatal(err)
	}
	if string(after.SigningKey) != string(pub) || string(after.SigningKey) == string(before.SigningKey) {
		t.Fatal("the loaded signing key is not the rotated one")
	}
	if after.Fingerprint != peer.FingerprintOf(der) || after.Fingerprint == before.Fingerprint {
		t.Fatal("the loaded certificate is not the rotated one")
	}
	for _, f := range []string{identity.SigningKeyFile, identity.TLSKeyFile} {
		if got := pemTypes(t, ks.Dir, f); len(got) != 1 || got[0] != "RISKMESH PKCS11 KEY" {
			t.Fatalf("%s after rotation holds %v", f, got)
		}
	}
	if k, _ := after.OPRFKey("fraud"); !k.Public().Equal(oprfPub) {
		t.Fatal("the loaded OPRF key is not the rotated one")
	}
	old, _ := before.OPRFKey("fraud")
	if prev := after.PreviousOPRFKeys()["fraud"]; prev == nil || !prev.Public().Equal(old.Public()) {
		t.Fatal("the replaced OPRF key is not the previous key")
	}
	assertSigns(t, after)
	t.Run("old key kept until discarded", func(t *testing.T) { assertSigns(t, before) })

	if err := ks.DiscardRetired(); err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("late"))
	if _, err := before.Sign(digest[:]); err == nil {
		t.Error("the replaced signing key still signs after DiscardRetired")
	}
	assertSigns(t, after)
	if _, err := ks.Load(); err != nil {
		t.Fatalf("load after DiscardRetired: %v", err)
	}
}

// TestTokenRestart closes the token, as a node stopping does, and opens it
// again: the identity loads with the same keys and signs.
func TestTokenRestart(t *testing.T) {
	cfg := identitytest.SoftHSM(t, "node")
	tok, err := identity.OpenToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ks := identity.Keystore{Dir: t.TempDir(), Token: tok, Place: inToken}
	if err := ks.Generate("Bank1MSP", []string{"fraud"}, nil); err != nil {
		t.Fatal(err)
	}
	first, err := ks.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Close(); err != nil {
		t.Fatal(err)
	}
	ks.Token = identitytest.OpenToken(t, cfg)
	again, err := ks.Load()
	if err != nil {
		t.Fatalf("load after reopening the token: %v", err)
	}
	a, _ := first.OPRFKey("fraud")
	b, _ := again.OPRFKey("fraud")
	if string(again.SigningKey) != string(first.SigningKey) || again.Fingerprint != first.Fingerprint || !a.Public().Equal(b.Public()) {
		t.Fatal("the reopened token gave other keys")
	}
	assertSigns(t, again)
}

func TestTokenWrongPIN(t *testing.T) {
	cfg := identitytest.SoftHSM(t, "node")
	cfg.PIN = "99887766"
	_, err := identity.OpenToken(cfg)
	if !errors.Is(err, identity.ErrTokenLogin) {
		t.Fatalf("wrong PIN: %v, want ErrTokenLogin", err)
	}
	if strings.Contains(err.Error(), cfg.PIN) {
		t.Fatalf("the error names the PIN: %v", err)
	}
	cfg.Label = "no-such-token"
	if _, err := identity.OpenToken(cfg); !errors.Is(err, identity.ErrTokenNotFound) {
		t.Fatalf("unknown label: %v, want ErrTokenNotFound", err)
	}
}

// TestAdversaryTokenKeyRemoved plays whoever removes or swaps keys: a key
// gone from the token, the identity pointed at another token, and a
// wrapped OPRF key copied over another category's. Each is a refusal to
// load, never a node running on other keys.
func TestAdversaryTokenKeyRemoved(t *testing.T) {
	cfg := identitytest.SoftHSM(t, "node")
	other := identitytest.SoftHSM(t, "other")
	tok := identitytest.OpenToken(t, cfg)

	t.Run("signing key destroyed", func(t *testing.T) {
		ks, _ := tokenIdentity(t, tok, "Bank1MSP")
		saved := map[string][]byte{}
		for _, f := range []string{identity.SigningKeyFile, identity.SigningPubFile} {
			data, err := os.ReadFile(filepath.Join(ks.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			saved[f] = data
		}
		if _, err := ks.RotateSigningKey(nil); err != nil {
			t.Fatal(err)
		}
		if err := ks.DiscardRetired(); err != nil {
			t.Fatal(err)
		}
		for f, data := range saved {
			if err := os.WriteFile(filepath.Join(ks.Dir, f), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ks.Load(); !errors.Is(err, identity.ErrKeyMissing) {
			t.Fatalf("load with the signing key gone: %v, want ErrKeyMissing", err)
		}
	})
	t.Run("another token", func(t *testing.T) {
		ks, _ := tokenIdentity(t, tok, "Bank2MSP", "fraud")
		ks.Token = identitytest.OpenToken(t, other)
		if _, err := ks.Load(); !errors.Is(err, identity.ErrKeyMissing) {
			t.Fatalf("load against another token: %v, want ErrKeyMissing", err)
		}
	})
	t.Run("wrapped key moved to another category", func(t *testing.T) {
		ks, _ := tokenIdentity(t, tok, "Bank3MSP", "fraud", "mule")
		data, err := os.ReadFile(filepath.Join(ks.Dir, identity.OPRFKeyFile("fraud")))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ks.Dir, identity.OPRFKeyFile("mule")), data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ks.Load(); !errors.Is(err, identity.ErrMismatch) {
			t.Fatalf("load with a moved wrapped key: %v, want ErrMismatch", err)
		}
	})
}

// TestTokenMovesKeysByRotation starts from an all-file identity and
// rotates each key with the token placement: the new keys are in the
// token, which is how an existing node moves its keys there. The OPRF key
// counts as plain (PlainOPRFKeys) before its rotation, not after.
func TestTokenMovesKeysByRotation(t *testing.T) {
	tok := identitytest.OpenToken(t, identitytest.SoftHSM(t, "node"))
	dir := t.TempDir()
	if err := identity.Generate(dir, "Bank1MSP", []string{"fraud"}, nil); err != nil {
		t.Fatal(err)
	}
	ks := identity.Keystore{Dir: dir, Token: tok, Place: inToken}
	before, err := ks.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := before.PlainOPRFKeys(); len(got) != 1 || got[0] != "fraud" {
		t.Errorf("plain OPRF keys of a file identity: %v, want [fraud]", got)
	}
	if _, err := ks.RotateSigningKey(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.RotateTLSCertificate(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.RotateOPRFKey("fraud", nil); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		identity.SigningKeyFile:               "RISKMESH PKCS11 KEY",
		identity.TLSKeyFile:                   "RISKMESH PKCS11 KEY",
		identity.OPRFKeyFile("fraud"):         "RISKMESH WRAPPED OPRF PRIVATE KEY",
		identity.PreviousOPRFKeyFile("fraud"): "RISKMESH OPRF PRIVATE KEY",
	} {
		if got := pemTypes(t, dir, name); len(got) != 1 || got[0] != want {
			t.Errorf("%s holds %v, want one %q", name, got, want)
		}
	}
	id, err := ks.Load()
	if err != nil {
		t.Fatal(err)
	}
	assertSigns(t, id)
	if got := id.PlainOPRFKeys(); len(got) != 0 {
		t.Errorf("plain OPRF keys after the rotation into the token: %v, want none", got)
	}
}

// TestTokenSealKEK keeps a data-at-rest keyring (node/seal) under a token
// key: records survive a KEK rotation, which rewrites only the keyring,
// and a keyring whose token key is gone refuses to open.
func TestTokenSealKEK(t *testing.T) {
	cfg := identitytest.SoftHSM(t, "node")
	other := identitytest.SoftHSM(t, "other")
	tok := identitytest.OpenToken(t, cfg)
	kek, err := tok.SealKEK("Bank1MSP")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), seal.KeyringFile)
	ring, err := seal.Create(path, kek, nil)
	if err != nil {
		t.Fatal(err)
	}
	record, err := ring.Seal("lists/last-good/src", []byte("entry"))
	if err != nil {
		t.Fatal(err)
	}
	reopen := func(t *testing.T, kek seal.KEK) {
		t.Helper()
		ring, err := seal.Open(path, kek)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := ring.Open("lists/last-good/src", record); err != nil || string(got) != "entry" {
			t.Fatalf("record: %q, %v", got, err)
		}
	}
	t.Run("same key found again", func(t *testing.T) {
		again, err := tok.SealKEK("Bank1MSP")
		if err != nil {
			t.Fatal(err)
		}
		reopen(t, again)
	})
	t.Run("rotation", func(t *testing.T) {
		next, err := tok.RotateSealKEK("Bank1MSP")
		if err != nil {
			t.Fatal(err)
		}
		if err := seal.Rewrap(path, kek, next, nil); err != nil {
			t.Fatal(err)
		}
		if err := tok.DiscardSealKEKs("Bank1MSP", next); err != nil {
			t.Fatal(err)
		}
		reopen(t, next)
		// SealKEK now finds the new key, the only one left.
		found, err := tok.SealKEK("Bank1MSP")
		if err != nil {
			t.Fatal(err)
		}
		reopen(t, found)
	})
	t.Run("token key lost", func(t *testing.T) {
		lost, err := identitytest.OpenToken(t, other).SealKEK("Bank1MSP")
		if err != nil {
			t.Fatal(err)
		}
		_, err = seal.Open(path, lost)
		if !errors.Is(err, seal.ErrKEK) || !errors.Is(err, identity.ErrKeyMissing) {
			t.Fatalf("keyring without its token key: %v, want ErrKEK and ErrKeyMissing", err)
		}
	})
}

// BenchmarkSign compares a transcript signature with the key in a file and
// in a SoftHSM2 token, and a TLS-style signature (crypto.Signer) in the
// token.
func BenchmarkSign(b *testing.B) {
	tok := identitytest.OpenToken(b, identitytest.SoftHSM(b, "bench"))
	digest := sha256.Sum256([]byte("transcript"))
	for _, place := range []identity.Placement{{}, inToken} {
		ks := identity.Keystore{Dir: b.TempDir(), Token: tok, Place: place}
		if err := ks.Generate("Bank1MSP", nil, nil); err != nil {
			b.Fatal(err)
		}
		id, err := ks.Load()
		if err != nil {
			b.Fatal(err)
		}
		b.Run("Transcript/"+place.Signing.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := id.Sign(digest[:]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
