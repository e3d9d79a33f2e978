package daemon

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/registry"
)

// profileLedger is the part of the ledger an institution writes on its own
// registry record.
type profileLedger interface {
	UpdateProfile(ctx context.Context, p accounting.Profile) error
	SetOPRFKey(ctx context.Context, category string, key []byte) error
}

// registerSelf brings this institution's registry record in line with its
// identity and configured endpoint: the profile (endpoint, TLS fingerprint,
// signing key) and the OPRF public key of every category it holds a key
// for. It writes only what differs from view, so a restart with unchanged
// keys costs no transaction. It returns how many transactions it made.
//
// Until the regulator has added the institution there is no record and it
// returns errNotRegistered; the daemon retries on each registry change.
func registerSelf(ctx context.Context, l profileLedger, v *registry.View, id *identity.Identity, endpoint string) (int, error) {
	rec, ok := v.Institution(id.MSPID)
	if !ok {
		return 0, errNotRegistered
	}
	txs := 0
	if rec.Endpoint != endpoint || !bytes.Equal(rec.TLSFingerprint, id.Fingerprint[:]) || !bytes.Equal(rec.SigningKey, id.SigningKey) {
		p := accounting.Profile{Endpoint: endpoint, TLSFingerprint: id.Fingerprint[:], SigningKey: id.SigningKey}
		if err := l.UpdateProfile(ctx, p); err != nil {
			return txs, fmt.Errorf("update registry profile: %w", err)
		}
		txs++
	}
	keys := id.OPRFKeys()
	for _, cat := range slices.Sorted(maps.Keys(keys)) {
		pub, err := keys[cat].Public().MarshalBinary()
		if err != nil {
			return txs, fmt.Errorf("encode OPRF key for %s: %w", cat, err)
		}
		if bytes.Equal(rec.OPRFKeys[cat], pub) {
			continue
		}
		if err := l.SetOPRFKey(ctx, cat, pub); err != nil {
			return txs, fmt.Errorf("register OPRF key for %s: %w", cat, err)
		}
		txs++
	}
	return txs, nil
}
