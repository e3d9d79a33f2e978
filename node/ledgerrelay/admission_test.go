package ledgerrelay_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/ledgertest"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/node/ledgerrelay"
	"github.com/riskmesh/riskmesh/node/peer"
)

// TestAdversaryRotatedAwayOrSuspendedCertificateCannotRelay plays members
// holding certificates the consortium file lists and the transport still
// admits (as a stale registry view or the file itself would), over live
// QUIC connections to the host: Bank1 after rotating its certificate away,
// Bank2 after it was suspended, Bank3 suspended before it registered. The
// host's Registered rule refuses every call, and the records stay as the
// honest history left them.
func TestAdversaryRotatedAwayOrSuspendedCertificateCannotRelay(t *testing.T) {
	var admit ledgerrelay.Admission
	n := newNetwork(t, func(ctx context.Context, from peer.Identity) error { return admit(ctx, from) })
	reg := n.direct(t, ledgertest.RegulatorMSP)
	listed := map[[32]byte]string{} // the consortium file: every certificate of newNetwork
	for msp, c := range n.certs {
		listed[peer.FingerprintOf(c.Certificate[0])] = msp
	}
	admit = ledgerrelay.Registered(reg.Institution, peer.AuthorizerFunc(func(fp [32]byte) (string, error) {
		if msp, ok := listed[fp]; ok {
			return msp, nil
		}
		return "", errors.New("not a consortium member")
	}))
	n.onboard(t)
	record := func(msp string) string {
		t.Helper()
		inst, err := reg.Institution(t.Context(), msp)
		must(t, err)
		return fmt.Sprintf("%+v", *inst)
	}
	attack := accounting.Profile{Endpoint: "attacker.example:7443"}

	t.Run("RotatedAway", func(t *testing.T) {
		bank1 := n.relayed(t, ledgertest.Bank1MSP)
		listedFP := peer.FingerprintOf(n.certs[ledgertest.Bank1MSP].Certificate[0])
		// The first registration goes through the listed certificate.
		must(t, bank1.UpdateProfile(t.Context(), accounting.Profile{Endpoint: "bank1.example:7443", TLSFingerprint: listedFP[:]}))
		next := sha256.Sum256([]byte("Bank1's next certificate"))
		must(t, bank1.UpdateProfile(t.Context(), accounting.Profile{TLSFingerprint: next[:]}))
		honest := record(ledgertest.Bank1MSP)

		attack := attack
		attack.TLSFingerprint = listedFP[:]
		wantRejected(t, bank1.UpdateProfile(t.Context(), attack), chaincode.CodeForbidden)
		_, err := bank1.Prices(t.Context())
		wantRejected(t, err, chaincode.CodeForbidden)
		if got := record(ledgertest.Bank1MSP); got != honest {
			t.Fatalf("record changed by the rotated-away certificate:\n%s\n%s", honest, got)
		}
	})
	t.Run("Suspended", func(t *testing.T) {
		bank2 := n.relayed(t, ledgertest.Bank2MSP)
		fp := peer.FingerprintOf(n.certs[ledgertest.Bank2MSP].Certificate[0])
		must(t, bank2.UpdateProfile(t.Context(), accounting.Profile{Endpoint: "bank2.example:7443", TLSFingerprint: fp[:]}))
		must(t, reg.SuspendInstitution(t.Context(), ledgertest.Bank2MSP))
		honest := record(ledgertest.Bank2MSP)
		wantRejected(t, bank2.UpdateProfile(t.Context(), attack), chaincode.CodeForbidden)
		if got := record(ledgertest.Bank2MSP); got != honest {
			t.Fatalf("record changed by the suspended member:\n%s\n%s", honest, got)
		}
	})
	t.Run("SuspendedBeforeRegistering", func(t *testing.T) {
		must(t, reg.SuspendInstitution(t.Context(), ledgertest.Bank3MSP))
		honest := record(ledgertest.Bank3MSP)
		wantRejected(t, n.relayed(t, ledgertest.Bank3MSP).UpdateProfile(t.Context(), attack), chaincode.CodeForbidden)
		if got := record(ledgertest.Bank3MSP); got != honest {
			t.Fatalf("record changed by the suspended member:\n%s\n%s", honest, got)
		}
	})
}
