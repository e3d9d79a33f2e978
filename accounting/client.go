package accounting

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/riskmesh/riskmesh/chaincode"
)

// Invoker carries one contract call to a backend as one identity. Submit
// runs a transaction and returns after it is committed; Evaluate runs a
// query. Arguments and results are the contract's JSON (package chaincode).
// A backend reports contract rejections either as a *chaincode.Error in the
// chain or as an error whose message contains "riskmesh: <code>: <detail>";
// Client turns both into *Error.
type Invoker interface {
	Submit(ctx context.Context, fn string, arg []byte) ([]byte, error)
	Evaluate(ctx context.Context, fn string, arg []byte) ([]byte, error)
}

// Client implements Ledger over an Invoker: it is the one place that
// encodes arguments and decodes results, shared by the embedded and the
// Fabric backends.
type Client struct {
	inv Invoker
}

var _ Ledger = (*Client)(nil)

// NewClient returns a Ledger that calls the contract through inv.
func NewClient(inv Invoker) *Client { return &Client{inv: inv} }

// maxResult bounds a result the client decodes; the contract's pages and
// batches are far smaller.
const maxResult = 64 << 20

func (c *Client) call(ctx context.Context, submit bool, fn string, arg, out any) error {
	in, err := json.Marshal(arg)
	if err != nil {
		return fmt.Errorf("accounting: encode %s: %w", fn, err)
	}
	var res []byte
	if submit {
		res, err = c.inv.Submit(ctx, fn, in)
	} else {
		res, err = c.inv.Evaluate(ctx, fn, in)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", fn, mapError(err))
	}
	if out == nil {
		return nil
	}
	if len(res) > maxResult {
		return fmt.Errorf("%w: %s: result of %d bytes", ErrBadResult, fn, len(res))
	}
	if err := json.Unmarshal(res, out); err != nil {
		return fmt.Errorf("%w: decode %s result: %v", ErrBadResult, fn, err)
	}
	return nil
}

func (c *Client) submit(ctx context.Context, fn string, arg, out any) error {
	return c.call(ctx, true, fn, arg, out)
}

type empty struct{}

// call runs fn and decodes its result into a new T; it returns nil on error.
func call[T any](ctx context.Context, c *Client, submit bool, fn string, arg any) (*T, error) {
	var out T
	if err := c.call(ctx, submit, fn, arg, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// callSlice evaluates a list query.
func callSlice[T any](ctx context.Context, c *Client, fn string, arg any) ([]T, error) {
	var out []T
	if err := c.call(ctx, false, fn, arg, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) AddInstitution(ctx context.Context, mspID, name string, roles []Role) error {
	return c.submit(ctx, chaincode.FnAddInstitution, chaincode.AddInstitutionArgs{MSPID: mspID, Name: name, Roles: roles}, nil)
}

func (c *Client) SuspendInstitution(ctx context.Context, mspID string) error {
	return c.submit(ctx, chaincode.FnSetStatus, chaincode.SetStatusArgs{MSPID: mspID, Status: StatusSuspended}, nil)
}

func (c *Client) ReactivateInstitution(ctx context.Context, mspID string) error {
	return c.submit(ctx, chaincode.FnSetStatus, chaincode.SetStatusArgs{MSPID: mspID, Status: StatusActive}, nil)
}

func (c *Client) SetRoles(ctx context.Context, mspID string, roles []Role) error {
	return c.submit(ctx, chaincode.FnSetRoles, chaincode.SetRolesArgs{MSPID: mspID, Roles: roles}, nil)
}

func (c *Client) UpdateProfile(ctx context.Context, p Profile) error {
	return c.submit(ctx, chaincode.FnUpdateProfile, p, nil)
}

func (c *Client) SetOPRFKey(ctx context.Context, category string, key []byte) error {
	return c.submit(ctx, chaincode.FnSetOPRFKey, chaincode.OPRFKeyArgs{Category: category, Key: key}, nil)
}

func (c *Client) PublishCatalog(ctx context.Context, cat Catalog) error {
	return c.submit(ctx, chaincode.FnPublishCatalog, cat, nil)
}

func (c *Client) Institution(ctx context.Context, mspID string) (*Institution, error) {
	return call[Institution](ctx, c, false, chaincode.FnGetInstitution, chaincode.MSPArgs{MSPID: mspID})
}

func (c *Client) Institutions(ctx context.Context) ([]Institution, error) {
	return callSlice[Institution](ctx, c, chaincode.FnListInstitutions, empty{})
}

func (c *Client) Catalog(ctx context.Context, mspID, category string, period uint64) (*Catalog, error) {
	return call[Catalog](ctx, c, false, chaincode.FnGetCatalog, chaincode.CatalogArgs{MSPID: mspID, Category: category, Period: period})
}

func (c *Client) SetPrice(ctx context.Context, category string, price int64) error {
	return c.SetModePrice(ctx, category, ModeCatalog, price)
}

// SetModePrice sends a catalog price without a mode, as SetPrice did before
// modes existed, so it also sets prices on a contract that predates them.
func (c *Client) SetModePrice(ctx context.Context, category string, mode Mode, price int64) error {
	if mode == ModeCatalog {
		mode = ""
	}
	return c.submit(ctx, chaincode.FnSetPrice, chaincode.SetPriceArgs{Category: category, Mode: mode, Price: price}, nil)
}

func (c *Client) SetLimit(ctx context.Context, mspID string, limit int64) error {
	return c.submit(ctx, chaincode.FnSetLimit, chaincode.SetLimitArgs{MSPID: mspID, Limit: limit}, nil)
}

func (c *Client) Prices(ctx context.Context) (*PriceList, error) {
	return call[PriceList](ctx, c, false, chaincode.FnGetPrices, empty{})
}

func (c *Client) Record(ctx context.Context, entries []Entry) ([]Outcome, error) {
	var out []Outcome
	if err := c.submit(ctx, chaincode.FnRecord, entries, &out); err != nil {
		return nil, err
	}
	if err := checkOutcomes(entries, out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkOutcomes refuses a Record answer that does not account for every
// entry, in order: the outbox drops an entry the answer says is recorded,
// so an answer that named the wrong entry would lose a bill.
func checkOutcomes(entries []Entry, out []Outcome) error {
	if len(out) != len(entries) {
		return fmt.Errorf("%w: Record returned %d outcomes for %d entries", ErrBadResult, len(out), len(entries))
	}
	for i, o := range out {
		if o.Index != i {
			return fmt.Errorf("%w: Record outcome %d has index %d", ErrBadResult, i, o.Index)
		}
		switch o.Status {
		case OutcomeRejected:
		case OutcomeRecorded, OutcomeDuplicate:
			k, err := EntryKeyOf(entries[i].Header)
			if err != nil || o.Key != k {
				return fmt.Errorf("%w: Record outcome %d is %s for another entry", ErrBadResult, i, o.Status)
			}
		default:
			return fmt.Errorf("%w: Record outcome %d has status %.32q", ErrBadResult, i, o.Status)
		}
	}
	return nil
}

func (c *Client) Reverse(ctx context.Context, r Reverse) error {
	return c.submit(ctx, chaincode.FnReverse, r, nil)
}

func (c *Client) Entry(ctx context.Context, key EntryKey) (*RecordedEntry, error) {
	return call[RecordedEntry](ctx, c, false, chaincode.FnGetEntry, key)
}

func (c *Client) Entries(ctx context.Context, q EntriesQuery) (*EntriesPage, error) {
	return call[EntriesPage](ctx, c, false, chaincode.FnListEntries, q)
}

func (c *Client) Rollover(ctx context.Context) (*Period, error) {
	return call[Period](ctx, c, true, chaincode.FnRollover, empty{})
}

func (c *Client) ClosePeriod(ctx context.Context, period uint64) error {
	return c.submit(ctx, chaincode.FnClosePeriod, chaincode.ClosePeriodArgs{Period: period}, nil)
}

func (c *Client) ForceClosePeriod(ctx context.Context, period uint64) error {
	return c.submit(ctx, chaincode.FnClosePeriod, chaincode.ClosePeriodArgs{Period: period, Force: true}, nil)
}

func (c *Client) MarkPaid(ctx context.Context, period uint64) (*Snapshot, error) {
	return call[Snapshot](ctx, c, true, chaincode.FnMarkPaid, chaincode.PeriodArgs{Period: period})
}

func (c *Client) ReportBacklog(ctx context.Context, period, pending uint64) error {
	return c.submit(ctx, chaincode.FnReportBacklog, chaincode.Backlog{Period: period, Pending: pending}, nil)
}

func (c *Client) Backlogs(ctx context.Context, period uint64) ([]Backlog, error) {
	return callSlice[Backlog](ctx, c, chaincode.FnListBacklogs, chaincode.PeriodArgs{Period: period})
}

func (c *Client) Exposures(ctx context.Context) ([]Exposure, error) {
	return callSlice[Exposure](ctx, c, chaincode.FnListExposures, empty{})
}

func (c *Client) Settle(ctx context.Context, period uint64, maxEntries int) (*SettleResult, error) {
	return call[SettleResult](ctx, c, true, chaincode.FnSettle, chaincode.SettleArgs{Period: period, MaxEntries: maxEntries})
}

func (c *Client) TakeSnapshot(ctx context.Context, period uint64) (*Snapshot, error) {
	return call[Snapshot](ctx, c, true, chaincode.FnSnapshot, chaincode.PeriodArgs{Period: period})
}

func (c *Client) TakeSnapshotRange(ctx context.Context, first, last uint64) (*Snapshot, error) {
	return call[Snapshot](ctx, c, true, chaincode.FnSnapshot, chaincode.SnapshotArgs{Period: first, Through: last})
}

func (c *Client) RecordPayments(ctx context.Context, period uint64, digest []byte) (*Snapshot, error) {
	return call[Snapshot](ctx, c, true, chaincode.FnRecordPayments, chaincode.PaymentsArgs{Snapshot: period, Digest: digest})
}

func (c *Client) Undrained(ctx context.Context, period uint64) ([]Backlog, error) {
	return callSlice[Backlog](ctx, c, chaincode.FnListUndrained, chaincode.PeriodArgs{Period: period})
}

func (c *Client) Period(ctx context.Context, n uint64) (*Period, error) {
	return call[Period](ctx, c, false, chaincode.FnGetPeriod, chaincode.PeriodArgs{Period: n})
}

func (c *Client) Snapshot(ctx context.Context, period uint64) (*Snapshot, error) {
	return call[Snapshot](ctx, c, false, chaincode.FnGetSnapshot, chaincode.PeriodArgs{Period: period})
}

func (c *Client) Account(ctx context.Context, mspID string) (*Account, error) {
	return call[Account](ctx, c, false, chaincode.FnGetAccount, chaincode.MSPArgs{MSPID: mspID})
}

func (c *Client) Accounts(ctx context.Context) ([]Account, error) {
	return callSlice[Account](ctx, c, chaincode.FnListAccounts, empty{})
}

func (c *Client) ReportOutcomes(ctx context.Context, reports []OutcomeReport) ([]Outcome, error) {
	var out []Outcome
	if err := c.submit(ctx, chaincode.FnReportOutcomes, reports, &out); err != nil {
		return nil, err
	}
	if len(out) != len(reports) {
		return nil, fmt.Errorf("%w: ReportOutcomes returned %d outcomes for %d reports", ErrBadResult, len(out), len(reports))
	}
	for i, o := range out {
		if o.Index != i || o.Key != reports[i].Key {
			return nil, fmt.Errorf("%w: ReportOutcomes outcome %d names another report", ErrBadResult, i)
		}
	}
	return out, nil
}

func (c *Client) SetQualityPolicy(ctx context.Context, p QualityPolicy) error {
	return c.submit(ctx, chaincode.FnSetQualityPolicy, p, nil)
}

func (c *Client) QualityPolicy(ctx context.Context) (*QualityPolicy, error) {
	return call[QualityPolicy](ctx, c, false, chaincode.FnGetQualityPolicy, empty{})
}

func (c *Client) Scores(ctx context.Context, q QualityQuery) ([]QualityScore, error) {
	return callSlice[QualityScore](ctx, c, chaincode.FnListQuality, q)
}
