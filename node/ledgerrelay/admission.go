package ledgerrelay

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/peer"
)

// Admission decides whether the relay serves a caller the peer transport
// authenticated; an error wrapping ErrNotAdmitted refuses it as the
// contract refuses a forbidden call, any other error is a failure to
// decide.
type Admission func(ctx context.Context, from peer.Identity) error

// Registry looks an institution's record up on the ledger, returning an
// error wrapping accounting.ErrNotFound if it is not registered
// (accounting.Ledger's Institution).
type Registry func(ctx context.Context, mspID string) (*accounting.Institution, error)

// Registered is the ledger host's admission rule. The ledger's registry
// decides: a registered institution is served only while it is active and
// only through the certificate its record names. unregistered (the
// consortium file, and the host itself) vouches for a certificate only
// while its institution's record names none: from the member's first
// profile registration on, a certificate the file lists but the record no
// longer names (rotated away, or never registered) is refused, and so is
// every certificate of a suspended institution.
//
// The host passes its own ledger as reg, so the rule reads the record the
// call is about to act on, not a cached view; a node's transport may apply
// the same rule to its registry view to refuse such certificates at the
// handshake.
func Registered(reg Registry, unregistered peer.Authorizer) Admission {
	return func(ctx context.Context, from peer.Identity) error {
		inst, err := reg(ctx, from.MSPID)
		switch {
		case errors.Is(err, accounting.ErrNotFound):
			inst = nil
		case err != nil:
			return fmt.Errorf("ledgerrelay: read the registry record of %s: %w", from.MSPID, err)
		}
		if inst != nil && inst.Status != accounting.StatusActive {
			return fmt.Errorf("%w: %s is %s", ErrNotAdmitted, from.MSPID, inst.Status)
		}
		if inst != nil && len(inst.TLSFingerprint) > 0 {
			if !bytes.Equal(from.Fingerprint[:], inst.TLSFingerprint) {
				return fmt.Errorf("%w: not the certificate %s registered", ErrNotAdmitted, from.MSPID)
			}
			return nil
		}
		if msp, err := unregistered.Authorize(from.Fingerprint); err != nil || msp != from.MSPID {
			return fmt.Errorf("%w: %s has registered no certificate and this one is not on the consortium's list", ErrNotAdmitted, from.MSPID)
		}
		return nil
	}
}
