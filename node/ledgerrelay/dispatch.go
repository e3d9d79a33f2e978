package ledgerrelay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
)

// The embedded ledger exposes its per-identity clients (EmbeddedStore.As)
// only through the typed accounting.Ledger API, not as raw contract calls.
// So the handler maps each relayed call back onto that API: it decodes the
// contract's JSON argument into the contract's own argument type, calls the
// matching Ledger method (which encodes it again for the contract) and
// encodes the typed result as JSON. The contract re-validates everything;
// decoding here only has to be as strict as the contract's own (one JSON
// value, no unknown fields), so nothing the contract would refuse is
// silently reshaped into something it accepts.
//
// TestOperationsCoverContract keeps this table equal to chaincode.Functions.

// operation runs one contract function's relayed call as l's identity.
type operation func(ctx context.Context, l *accounting.Embedded, arg []byte) ([]byte, error)

// op adapts a typed call: it decodes the argument into A, runs f and
// encodes its result.
func op[A, R any](f func(ctx context.Context, l *accounting.Embedded, a A) (R, error)) operation {
	return func(ctx context.Context, l *accounting.Embedded, arg []byte) ([]byte, error) {
		var a A
		if err := decodeArg(arg, &a); err != nil {
			return nil, err
		}
		r, err := f(ctx, l, a)
		if err != nil {
			return nil, err
		}
		return json.Marshal(r)
	}
}

// none is the argument of functions that take {} and the result of those
// that return nothing (encoded as null, as the contract does).
type none struct{}

// noResult adapts a call without a result.
func noResult[A any](f func(ctx context.Context, l *accounting.Embedded, a A) error) operation {
	return op(func(ctx context.Context, l *accounting.Embedded, a A) (*none, error) { return nil, f(ctx, l, a) })
}

// operations maps every contract function to its relay.
var operations = map[string]operation{
	chaincode.FnAddInstitution: noResult(func(ctx context.Context, l *accounting.Embedded, a chaincode.AddInstitutionArgs) error {
		return l.AddInstitution(ctx, a.MSPID, a.Name, a.Roles)
	}),
	chaincode.FnSetStatus: noResult(func(ctx context.Context, l *accounting.Embedded, a chaincode.SetStatusArgs) error {
		switch a.Status {
		case accounting.StatusActive:
			return l.ReactivateInstitution(ctx, a.MSPID)
		case accounting.StatusSuspended:
			return l.SuspendInstitution(ctx, a.MSPID)
		}
		return invalidArgument(fmt.Sprintf("invalid status %.32q", a.Status))
	}),
	chaincode.FnSetRoles: noResult(func(ctx context.Context, l *accounting.Embedded, a chaincode.SetRolesArgs) error {
		return l.SetRoles(ctx, a.MSPID, a.Roles)
	}),
	chaincode.FnSetPrice: noResult(func(ctx context.Context, l *accounting.Embedded, a chaincode.SetPriceArgs) error {
		return l.SetPrice(ctx, a.Category, a.Price)
	}),
	chaincode.FnSetLimit: noResult(func(ctx context.Context, l *accounting.Embedded, a chaincode.SetLimitArgs) error {
		return l.SetLimit(ctx, a.MSPID, a.Limit)
	}),
	chaincode.FnRollover: op(func(ctx context.Context, l *accounting.Embedded, _ none) (*accounting.Period, error) {
		return l.Rollover(ctx)
	}),
	chaincode.FnClosePeriod: noResult(func(ctx context.Context, l *accounting.Embedded, a chaincode.PeriodArgs) error {
		return l.ClosePeriod(ctx, a.Period)
	}),
	chaincode.FnSettle: op(func(ctx context.Context, l *accounting.Embedded, a chaincode.SettleArgs) (*accounting.SettleResult, error) {
		return l.Settle(ctx, a.Period, a.MaxEntries)
	}),
	chaincode.FnSnapshot: op(func(ctx context.Context, l *accounting.Embedded, a chaincode.PeriodArgs) (*accounting.Snapshot, error) {
		return l.TakeSnapshot(ctx, a.Period)
	}),
	chaincode.FnUpdateProfile: noResult(func(ctx context.Context, l *accounting.Embedded, p accounting.Profile) error {
		return l.UpdateProfile(ctx, p)
	}),
	chaincode.FnSetOPRFKey: noResult(func(ctx context.Context, l *accounting.Embedded, a chaincode.OPRFKeyArgs) error {
		return l.SetOPRFKey(ctx, a.Category, a.Key)
	}),
	chaincode.FnPublishCatalog: noResult(func(ctx context.Context, l *accounting.Embedded, a accounting.Catalog) error {
		// The typed call always publishes as the caller, so the
		// contract's rule on the optional mspId is applied here.
		if a.MSPID != "" && a.MSPID != l.MSPID() {
			return &accounting.Error{Code: chaincode.CodeForbidden, Detail: "an institution publishes only its own catalogs"}
		}
		return l.PublishCatalog(ctx, a.Category, a.Period, a.Digest)
	}),
	chaincode.FnRecord: op(func(ctx context.Context, l *accounting.Embedded, entries []accounting.Entry) ([]accounting.Outcome, error) {
		return l.Record(ctx, entries)
	}),
	chaincode.FnReverse: noResult(func(ctx context.Context, l *accounting.Embedded, r accounting.Reverse) error {
		return l.Reverse(ctx, r)
	}),

	chaincode.FnGetEntry: op(func(ctx context.Context, l *accounting.Embedded, k accounting.EntryKey) (*accounting.RecordedEntry, error) {
		return l.Entry(ctx, k)
	}),
	chaincode.FnListEntries: op(func(ctx context.Context, l *accounting.Embedded, q accounting.EntriesQuery) (*accounting.EntriesPage, error) {
		return l.Entries(ctx, q)
	}),
	chaincode.FnGetAccount: op(func(ctx context.Context, l *accounting.Embedded, a chaincode.MSPArgs) (*accounting.Account, error) {
		return l.Account(ctx, a.MSPID)
	}),
	chaincode.FnListAccounts: op(func(ctx context.Context, l *accounting.Embedded, _ none) ([]accounting.Account, error) {
		return l.Accounts(ctx)
	}),
	chaincode.FnGetSnapshot: op(func(ctx context.Context, l *accounting.Embedded, a chaincode.PeriodArgs) (*accounting.Snapshot, error) {
		return l.Snapshot(ctx, a.Period)
	}),
	chaincode.FnGetInstitution: op(func(ctx context.Context, l *accounting.Embedded, a chaincode.MSPArgs) (*accounting.Institution, error) {
		return l.Institution(ctx, a.MSPID)
	}),
	chaincode.FnListInstitutions: op(func(ctx context.Context, l *accounting.Embedded, _ none) ([]accounting.Institution, error) {
		return l.Institutions(ctx)
	}),
	chaincode.FnGetPrices: op(func(ctx context.Context, l *accounting.Embedded, _ none) (map[string]int64, error) {
		return l.Prices(ctx)
	}),
	chaincode.FnGetPeriod: op(func(ctx context.Context, l *accounting.Embedded, a chaincode.PeriodArgs) (*accounting.Period, error) {
		return l.Period(ctx, a.Period)
	}),
	chaincode.FnGetCatalog: op(func(ctx context.Context, l *accounting.Embedded, a chaincode.CatalogArgs) (*accounting.Catalog, error) {
		return l.Catalog(ctx, a.MSPID, a.Category, a.Period)
	}),
}

// decodeArg decodes exactly one JSON value with no unknown fields, the
// contract's own rule, into v. The argument is bounded by the handler
// before it gets here.
func decodeArg(arg []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(arg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidArgument("decode argument: " + err.Error())
	}
	if dec.More() {
		return invalidArgument("trailing data after argument")
	}
	return nil
}

// invalidArgument is the contract's rejection of a malformed argument.
func invalidArgument(detail string) error {
	return &accounting.Error{Code: chaincode.CodeInvalidArgument, Detail: detail}
}
