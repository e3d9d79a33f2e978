package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// keyring is one category's OPRF keys. current is the key the registry
// announces and the catalogs of periods not built yet are built under;
// previous is the key current replaced, which the catalogs published before
// that rotation were built under. A served catalog carries the key it was
// built with (served.key), so a rotation never changes how a catalog
// already served is answered.
type keyring struct {
	mu       sync.RWMutex // RotateKey writes, requests and builds read
	current  *oprf.PrivateKey
	previous *oprf.PrivateKey // nil: none
}

func (r *keyring) get() (current, previous *oprf.PrivateKey) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.current, r.previous
}

// holding returns the key of the ring whose public half encodes as pub.
func (r *keyring) holding(pub []byte) (*oprf.PrivateKey, bool) {
	cur, prev := r.get()
	for _, k := range []*oprf.PrivateKey{cur, prev} {
		if k != nil && string(encodePublic(k)) == string(pub) {
			return k, true
		}
	}
	return nil, false
}

// rotate makes key current and the replaced key previous, and returns the
// key dropped from the ring (nil if none). A key equal to the current one
// changes nothing.
func (r *keyring) rotate(key *oprf.PrivateKey) (dropped *oprf.PrivateKey, changed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if key.Public().Equal(r.current.Public()) {
		return nil, false
	}
	dropped, r.previous, r.current = r.previous, r.current, key
	return dropped, true
}

// encodePublic is the 32-byte public key encoding the ledger stores. A
// valid private key always encodes.
func encodePublic(k *oprf.PrivateKey) []byte {
	b, _ := k.Public().MarshalBinary()
	return b
}

// RotateKey makes key the current OPRF key of category in a running
// provider, after node/identity's RotateOPRFKey put it on disk (call
// CheckRotate before that). The catalogs of periods not built yet are built
// under key; the catalogs already served keep being served and answered
// under the key they were built with, which the ledger's catalog records
// name. The replaced key becomes the previous one (Config.PreviousKeys
// after a restart). RotateKey then registers key's public half on the
// ledger so the registry announces it; if that fails, key is in use anyway,
// the error is returned, and the next catalog publication registers it.
// Rotating to the current key only registers it.
func (p *Provider) RotateKey(ctx context.Context, category string, key *oprf.PrivateKey) error {
	ring, ok := p.keys[category]
	if !ok {
		return fmt.Errorf("%w: %.64q", ErrUnknownCategory, category)
	}
	if key == nil {
		return fmt.Errorf("provider: rotate %s: nil key", category)
	}
	if dropped, changed := ring.rotate(key); changed {
		p.log.Info("provider: OPRF key rotated; the next catalogs are built under the new key", "category", category)
		if dropped != nil && p.cats.servedUnder(category, dropped) {
			// CheckRotate would have refused: this node answers the
			// catalog from memory, a restarted one cannot.
			p.log.Warn("provider: rotation dropped the key a served catalog was built under; a restart before that catalog retires cannot serve it", "category", category)
		}
	}
	if err := p.register(ctx, category); err != nil {
		return fmt.Errorf("provider: rotate %s: %w", category, err)
	}
	return nil
}

// CheckRotate reports whether rotating category's OPRF key now keeps every
// catalog requesters may still query answerable after a restart. A rotation
// drops the previous key (node/identity keeps one per category); it returns
// ErrRotateTooSoon while that key backs the published catalog of the
// current period, or of the previous one in its grace window. After one
// rotation per period, that lasts until the grace window of the period the
// rotation happened in ends.
func (p *Provider) CheckRotate(ctx context.Context, category string) error {
	ring, ok := p.keys[category]
	if !ok {
		return fmt.Errorf("%w: %.64q", ErrUnknownCategory, category)
	}
	_, prev := ring.get()
	view := p.cfg.Directory.View()
	cur := view.Period.Number
	if prev == nil || cur == 0 {
		return nil
	}
	pub := encodePublic(prev)
	periods := []uint64{cur}
	if cur > 1 {
		periods = append(periods, cur-1)
	}
	for _, q := range periods {
		c, err := p.cfg.Ledger.Catalog(ctx, p.cfg.MSPID, category, q)
		if errors.Is(err, accounting.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("provider: check rotation of %s: read catalog of period %d: %w", category, q, err)
		}
		if string(c.OPRFKey) != string(pub) {
			continue
		}
		if q < cur {
			prevPeriod, err := p.previousPeriod(ctx, view)
			if err != nil {
				return fmt.Errorf("provider: check rotation of %s: read period %d: %w", category, q, err)
			}
			if prevPeriod.State != accounting.PeriodOpen && prevPeriod.State != accounting.PeriodGrace {
				continue
			}
		}
		return fmt.Errorf("%w: the key a rotation of %s would drop built the catalog of period %d", ErrRotateTooSoon, category, q)
	}
	return nil
}

// register puts category's current key on the ledger if the registry view
// shows another one.
func (p *Provider) register(ctx context.Context, category string) error {
	cur, _ := p.keys[category].get()
	pub := encodePublic(cur)
	self, ok := p.cfg.Directory.View().Institution(p.cfg.MSPID)
	if ok && string(self.OPRFKeys[category]) == string(pub) {
		return nil
	}
	if err := p.cfg.Ledger.SetOPRFKey(ctx, category, pub); err != nil {
		return fmt.Errorf("register OPRF key: %w", err)
	}
	return nil
}
