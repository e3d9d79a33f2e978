package chaincode

import (
	"fmt"
	"slices"

	"github.com/riskmesh/riskmesh/psi/transcript"
)

// Prices: the regulator sets a category's price per item, per mode, at any
// time; the price list is captured into the period record when a period
// opens (Rollover), so every entry of a period is billed at the price the
// period opened with and a change applies from the next period.

// Mode is how an exchange is made, which the consortium prices separately:
// a catalog look-up, a live-mode query or a reconciliation cost the provider
// different work (docs/ledger.md, Prices).
type Mode string

const (
	// ModeCatalog prices catalog-OPRF look-ups. Its prices are the ones the
	// contract kept before modes existed (key price/<category>,
	// Period.Prices), so older state and period records read unchanged.
	ModeCatalog Mode = "catalog"
	// ModeLive prices live-mode queries (transcript.ProtocolLiveHE).
	ModeLive Mode = "live"
	// ModeReconcile prices ECDH-PSI reconciliations (both variants).
	ModeReconcile Mode = "reconcile"
)

// Modes lists every mode, catalog first.
var Modes = [...]Mode{ModeCatalog, ModeLive, ModeReconcile}

// Valid reports whether m is one of Modes.
func (m Mode) Valid() bool { return slices.Contains(Modes[:], m) }

// ModeOf returns the mode an exchange of protocol p is billed in; ok is
// false for a protocol no mode prices.
func ModeOf(p transcript.Protocol) (m Mode, ok bool) {
	switch {
	case p == transcript.ProtocolCatalogOPRF:
		return ModeCatalog, true
	case p == transcript.ProtocolLiveHE:
		return ModeLive, true
	case p.IsECDH():
		return ModeReconcile, true
	}
	return "", false
}

// setPriceMode is SetPriceArgs.Mode with the empty mode read as catalog,
// which SetPrice calls made before modes existed send.
func setPriceMode(m Mode) (Mode, bool) {
	if m == "" {
		return ModeCatalog, true
	}
	return m, m.Valid()
}

func (c *Contract) setPrice(st State, arg []byte) (any, error) {
	if err := c.requireRegulator(st); err != nil {
		return nil, err
	}
	var a SetPriceArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	if !ValidCategory(a.Category) {
		return nil, newError(CodeInvalidArgument, "invalid category")
	}
	mode, ok := setPriceMode(a.Mode)
	if !ok {
		return nil, newError(CodeInvalidArgument, "unknown price mode")
	}
	if a.Price < 0 {
		return nil, newError(CodeInvalidArgument, "negative price")
	}
	key := priceKey(a.Category, mode)
	old, err := st.Get(key)
	if err != nil {
		return nil, err
	}
	if old == nil {
		prices, err := loadPrices(st)
		if err != nil {
			return nil, err
		}
		if len(prices.of(mode)) >= MaxCategories {
			return nil, newError(CodeInvalidArgument, fmt.Sprintf("at most %d priced categories per mode", MaxCategories))
		}
	}
	return nil, putJSON(st, key, a.Price)
}

// loadPrices reads the current price list: at most MaxCategories keys per
// mode, so the scan stops once it has read more than all modes may hold.
func loadPrices(st State) (PriceList, error) {
	list, n := PriceList{Prices: map[string]int64{}}, 0
	err := scan(st, prefixPrice, rangeEnd(prefixPrice), func(k string, v []byte) (bool, error) {
		category, mode, ok := parsePriceKey(k)
		if !ok {
			return false, newError(CodeInternal, "stored price key "+k)
		}
		var p int64
		if err := decodeStored(k, v, &p); err != nil {
			return false, err
		}
		list.set(category, mode, p)
		n++
		return n <= len(Modes)*MaxCategories, nil
	})
	return list, err
}

func (c *Contract) getPrices(st State, arg []byte) (any, error) {
	if err := decodeArg(arg, &struct{}{}); err != nil {
		return nil, err
	}
	return loadPrices(st)
}

func (c *Contract) setLimit(st State, arg []byte) (any, error) {
	if err := c.requireRegulator(st); err != nil {
		return nil, err
	}
	var a SetLimitArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	if a.Limit < 0 {
		return nil, newError(CodeInvalidArgument, "negative limit")
	}
	if _, err := loadInstitution(st, a.MSPID); err != nil {
		return nil, err
	}
	return nil, putJSON(st, limitKey(a.MSPID), a.Limit)
}

// loadInt64 reads an int64 record, 0 if absent.
func loadInt64(st State, key string) (int64, error) {
	var n int64
	_, err := getJSON(st, key, &n)
	return n, err
}

// account assembles an institution's account. Flagged is derived from the
// stored balance, the current limit and the unpaid snapshots, so it can
// never be stale.
func account(st State, msp string) (*Account, error) {
	bal, err := loadInt64(st, balanceKey(msp))
	if err != nil {
		return nil, err
	}
	lim, err := loadInt64(st, limitKey(msp))
	if err != nil {
		return nil, err
	}
	var unpaid []uint64
	if _, err := getJSON(st, debtKey(msp), &unpaid); err != nil {
		return nil, err
	}
	a := &Account{MSPID: msp, Balance: bal, Limit: lim, Flagged: bal < -lim || len(unpaid) > 0}
	if len(unpaid) > 0 {
		a.UnpaidSince = slices.Min(unpaid)
	}
	return a, nil
}

// updateDebt rewrites msp's list of unpaid snapshots with change.
func updateDebt(st State, msp string, change func([]uint64) []uint64) error {
	var unpaid []uint64
	if _, err := getJSON(st, debtKey(msp), &unpaid); err != nil {
		return err
	}
	unpaid = change(unpaid)
	if unpaid == nil {
		unpaid = []uint64{} // stored as "[]": Fabric deletes an empty value
	}
	return putJSON(st, debtKey(msp), unpaid)
}

func (c *Contract) getAccount(st State, arg []byte) (any, error) {
	var a MSPArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	if _, err := loadInstitution(st, a.MSPID); err != nil {
		return nil, err
	}
	return account(st, a.MSPID)
}

func (c *Contract) listAccounts(st State, arg []byte) (any, error) {
	if err := decodeArg(arg, &struct{}{}); err != nil {
		return nil, err
	}
	msps, err := institutionIDs(st)
	if err != nil {
		return nil, err
	}
	out := make([]Account, 0, len(msps))
	for _, m := range msps {
		a, err := account(st, m)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, nil
}
