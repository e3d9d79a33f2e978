package registry_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/registry"
)

// squattedLedger shows the registry as a ledger from before the contract's
// owner index may: Bank3 holds a copy of Bank1's TLS fingerprint, signing
// key and OPRF key, registered after Bank1's. The contract refuses such a
// registration now (accounting/ledgertest's CredentialSquatting step), so
// the squat is replayed here, on top of the real ledger's answer.
type squattedLedger struct {
	accounting.Ledger
	signingKey []byte
}

func (s squattedLedger) Institutions(ctx context.Context) ([]accounting.Institution, error) {
	insts, err := s.Ledger.Institutions(ctx)
	if err != nil {
		return nil, err
	}
	i1 := slices.IndexFunc(insts, func(i accounting.Institution) bool { return i.MSPID == bank1MSP })
	i3 := slices.IndexFunc(insts, func(i accounting.Institution) bool { return i.MSPID == bank3MSP })
	insts[i1].SigningKey = s.signingKey
	insts[i3].TLSFingerprint = bytes.Clone(insts[i1].TLSFingerprint)
	insts[i3].SigningKey = bytes.Clone(s.signingKey)
	insts[i3].OPRFKeys = map[string][]byte{"phone-grey": bytes.Clone(insts[i1].OPRFKeys[category])}
	return insts, nil
}

// logRecorder keeps every log record's message and attributes as text.
type logRecorder struct{ lines []string }

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	line := rec.Message
	rec.Attrs(func(a slog.Attr) bool { line += " " + a.String(); return true })
	r.lines = append(r.lines, line)
	return nil
}
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

// TestAdversaryAmbiguousRegistryAuthenticatesNeither: with Bank3 claiming
// Bank1's credentials, the later registrant does not win. Bank1's
// certificate authenticates neither bank, the shared signing key checks
// nobody's signatures, the shared OPRF key offers no provider; Bank2 is
// untouched, and the log names the institutions, not the credentials.
func TestAdversaryAmbiguousRegistryAuthenticatesNeither(t *testing.T) {
	n := newNetwork(t)
	key := bytes.Repeat([]byte{0x30}, 91) // the registry view does not parse keys
	rec := &logRecorder{}
	d := registry.New(squattedLedger{Ledger: n.banks[bank2MSP], signingKey: key}, registry.Options{Logger: slog.New(rec)})
	v := refresh(t, d)

	fp := fingerprint(bank1MSP)
	if msp, err := d.Authorize(fp); !errors.Is(err, registry.ErrAmbiguous) {
		t.Fatalf("Authorize of the shared certificate = %q, %v; want ErrAmbiguous", msp, err)
	}
	if msp, err := d.Authorize(fingerprint(bank2MSP)); err != nil || msp != bank2MSP {
		t.Fatalf("Authorize of an unshared certificate = %q, %v", msp, err)
	}
	for _, msp := range []string{bank1MSP, bank3MSP} {
		inst, ok := v.Institution(msp)
		if !ok || inst.SigningKey != nil || len(inst.SigningKeysIn(1)) != 0 || len(inst.OPRFKeys) != 0 {
			t.Fatalf("%s keeps a shared key in the view: %+v", msp, inst)
		}
	}
	if got := mspIDs(v.Providers(category)); len(got) != 0 {
		t.Fatalf("providers offered under a shared OPRF key: %v", got)
	}
	want := []registry.Conflict{
		{Kind: registry.CredentialOPRF, MSPIDs: []string{bank1MSP, bank3MSP}},
		{Kind: registry.CredentialSigning, MSPIDs: []string{bank1MSP, bank3MSP}},
		{Kind: registry.CredentialTLS, MSPIDs: []string{bank1MSP, bank3MSP}},
	}
	if got := v.Conflicts(); !slices.EqualFunc(got, want, func(a, b registry.Conflict) bool {
		return a.Kind == b.Kind && slices.Equal(a.MSPIDs, b.MSPIDs)
	}) {
		t.Fatalf("Conflicts = %v, want %v", got, want)
	}
	logged := strings.Join(rec.lines, "\n")
	if strings.Count(logged, "registered by more than one institution") != len(want) || !strings.Contains(logged, bank3MSP) {
		t.Fatalf("conflicts not logged once each with the claimants:\n%s", logged)
	}
	for _, cred := range []string{hex.EncodeToString(fp[:]), hex.EncodeToString(fp[:6]), hex.EncodeToString(bytes.Repeat([]byte{1}, 32))} {
		if strings.Contains(logged, cred) {
			t.Fatalf("log holds a credential %s…:\n%s", cred[:12], logged)
		}
	}
	// An unchanged registry logs nothing new.
	before := len(rec.lines)
	refresh(t, d)
	if len(rec.lines) != before {
		t.Fatalf("a second refresh of the same conflicts logged again:\n%s", strings.Join(rec.lines[before:], "\n"))
	}
}
