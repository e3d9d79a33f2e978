package ledgertest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
)

// credentialSquatting plays Bank1 as a dishonest member with its own valid
// client: it tries to register Bank2's TLS fingerprint, signing key and
// OPRF key, current or rotated away, alone or hidden in an otherwise honest
// update. The contract refuses each with a conflict and changes neither
// record (chaincode/owners.go). It runs after Registry, which gave Bank2 a
// fingerprint, its harness signing key and an OPRF key, and leaves Bank2 as
// it found it.
func (s *scenario) credentialSquatting(t *testing.T) {
	b1, b2 := s.h.Bank1.Ledger, s.h.Bank2.Ledger
	snapshot := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, msp := range []string{Bank1MSP, Bank2MSP} {
			inst, err := b1.Institution(ctx(t), msp)
			must(t, err)
			out[msp] = fmt.Sprintf("%+v", *inst)
		}
		return out
	}
	victim, err := b2.Institution(ctx(t), Bank2MSP)
	must(t, err)
	cat := s.category("a")
	if len(victim.TLSFingerprint) == 0 || len(victim.OPRFKeys[cat]) == 0 {
		t.Fatalf("Bank2 has no fingerprint or OPRF key for %s to squat: %+v", cat, victim)
	}
	attempts := func(t *testing.T, fp, signingKey, oprfKey []byte) {
		t.Helper()
		before := snapshot()
		wantErr(t, b1.UpdateProfile(ctx(t), accounting.Profile{TLSFingerprint: fp}), accounting.ErrConflict)
		wantErr(t, b1.UpdateProfile(ctx(t), accounting.Profile{SigningKey: signingKey}), accounting.ErrConflict)
		wantErr(t, b1.UpdateProfile(ctx(t), accounting.Profile{Endpoint: "squatter.example:7443", TLSFingerprint: fp}), accounting.ErrConflict)
		wantErr(t, b1.SetOPRFKey(ctx(t), s.category("squat"), oprfKey), accounting.ErrConflict)
		if after := snapshot(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("refused squats changed the registry:\n%v\n%v", before, after)
		}
	}
	t.Run("Current", func(t *testing.T) {
		attempts(t, victim.TLSFingerprint, s.h.Bank2.PublicKey, victim.OPRFKeys[cat])
	})
	t.Run("RotatedAway", func(t *testing.T) {
		// Bank2 moves to new credentials; its old ones stay its own.
		fp := sha256.Sum256([]byte("rotated tls certificate of " + Bank2MSP + s.tag))
		oprf := sha256.Sum256([]byte("rotated OPRF key of " + Bank2MSP + s.tag))
		rotated := newIdentity(t, &s.h.Bank2)
		must(t, b2.UpdateProfile(ctx(t), accounting.Profile{TLSFingerprint: fp[:], SigningKey: rotated.PublicKey}))
		must(t, b2.SetOPRFKey(ctx(t), cat, oprf[:]))
		attempts(t, victim.TLSFingerprint, s.h.Bank2.PublicKey, victim.OPRFKeys[cat])
		// Bank2 returns to its own old credentials.
		must(t, b2.UpdateProfile(ctx(t), accounting.Profile{TLSFingerprint: victim.TLSFingerprint, SigningKey: s.h.Bank2.PublicKey}))
		must(t, b2.SetOPRFKey(ctx(t), cat, victim.OPRFKeys[cat]))
		got, err := b2.Institution(ctx(t), Bank2MSP)
		must(t, err)
		if !bytes.Equal(got.TLSFingerprint, victim.TLSFingerprint) || !bytes.Equal(got.SigningKey, s.h.Bank2.PublicKey) ||
			!bytes.Equal(got.OPRFKeys[cat], victim.OPRFKeys[cat]) {
			t.Fatalf("Bank2 could not return to its own credentials: %+v", got)
		}
	})
}
