package ledgertest

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// newOPRFKey is the encoding of a fresh OPRF public key: unique per run, so
// a ledger that outlives a run never holds it already.
func newOPRFKey(t *testing.T) []byte {
	t.Helper()
	k, err := oprf.GenerateKey(nil)
	must(t, err)
	pub, err := k.Public().MarshalBinary()
	must(t, err)
	return pub
}

// registerOPRFKey registers a fresh OPRF public key for category as l's
// institution and returns its encoding.
func registerOPRFKey(t *testing.T, l accounting.Ledger, category string) []byte {
	t.Helper()
	pub := newOPRFKey(t)
	must(t, l.SetOPRFKey(ctx(t), category, pub))
	return pub
}

// catalogKey plays a provider publishing its catalog under a key requesters
// could not check its answers against: 32 bytes that are no public key, or
// a valid key the registry never announced for the category. The contract
// refuses both and records nothing; the registered key is published, stays
// published after a rotation, and the next period takes the rotated key.
func (s *scenario) catalogKey(t *testing.T) {
	b2 := s.h.Bank2.Ledger
	cat, next := s.category("catalog-key"), s.period+1
	d := sha256.Sum256([]byte("catalog key " + s.tag))
	publish := func(period uint64, key []byte) error {
		return b2.PublishCatalog(ctx(t), accounting.Catalog{Category: cat, Period: period, Digest: d[:], OPRFKey: key})
	}
	unannounced := newOPRFKey(t)
	wantErr(t, publish(next, unannounced), accounting.ErrFailedPrecondition) // no key registered yet
	registered := registerOPRFKey(t, b2, cat)
	wantErr(t, publish(next, bytes.Repeat([]byte{0xff}, 32)), accounting.ErrInvalidArgument) // not canonical
	wantErr(t, publish(next, make([]byte, 32)), accounting.ErrInvalidArgument)               // the identity
	wantErr(t, publish(next, unannounced), accounting.ErrFailedPrecondition)
	_, err := b2.Catalog(ctx(t), Bank2MSP, cat, next)
	wantErr(t, err, accounting.ErrNotFound)

	must(t, publish(next, registered))
	rotated := registerOPRFKey(t, b2, cat)
	must(t, publish(next, registered)) // the record stands: publishing it again is a no-op
	wantErr(t, publish(next+1, registered), accounting.ErrFailedPrecondition)
	must(t, publish(next+1, rotated))
	for period, want := range map[uint64][]byte{next: registered, next + 1: rotated} {
		got, err := b2.Catalog(ctx(t), Bank2MSP, cat, period)
		must(t, err)
		if !bytes.Equal(got.OPRFKey, want) {
			t.Fatalf("period %d catalog published under %x, want %x", period, got.OPRFKey, want)
		}
	}
}
