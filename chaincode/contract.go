package chaincode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/riskmesh/riskmesh/internal/ecsig"
)

// Contract is the RiskMesh contract. Its configuration is the regulator's
// MSP id, fixed at deployment (the chaincode server's environment, the
// embedded ledger's Config): no transaction can change who the regulator
// is; and the genesis governance (WithGenesis), which the ledger's own
// governance record overrides once written.
type Contract struct {
	regulator string
	genesis   Governance
	// keys holds the parties' parsed signing keys, and their tables,
	// across Record transactions; tables change no verdict (signer.go).
	keys *ecsig.Keys
}

// New returns the contract with regulator as the regulator organisation.
func New(regulator string, opts ...Option) (*Contract, error) {
	if !ValidMSPID(regulator) {
		return nil, fmt.Errorf("chaincode: invalid regulator MSP id %q", regulator)
	}
	c := &Contract{regulator: regulator, genesis: Governance{Mode: GovernanceRegulator}, keys: &ecsig.Keys{}}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Regulator returns the regulator's MSP id.
func (c *Contract) Regulator() string { return c.regulator }

type function struct {
	query bool
	run   func(c *Contract, st State, arg []byte) (any, error)
}

var functions = map[string]function{
	FnAddInstitution:   {run: (*Contract).addInstitution},
	FnSetStatus:        {run: (*Contract).setStatus},
	FnSetRoles:         {run: (*Contract).setRoles},
	FnSetPrice:         {run: (*Contract).setPrice},
	FnSetLimit:         {run: (*Contract).setLimit},
	FnRollover:         {run: (*Contract).rollover},
	FnClosePeriod:      {run: (*Contract).closePeriod},
	FnSettle:           {run: (*Contract).settle},
	FnSnapshot:         {run: (*Contract).snapshot},
	FnMarkPaid:         {run: (*Contract).markPaid},
	FnRecordPayments:   {run: (*Contract).recordPayments},
	FnUpdateProfile:    {run: (*Contract).updateProfile},
	FnSetOPRFKey:       {run: (*Contract).setOPRFKey},
	FnPublishCatalog:   {run: (*Contract).publishCatalog},
	FnRecord:           {run: (*Contract).record},
	FnReverse:          {run: (*Contract).reverse},
	FnReportBacklog:    {run: (*Contract).reportBacklog},
	FnReportOutcomes:   {run: (*Contract).reportOutcomes},
	FnSetQualityPolicy: {run: (*Contract).setQualityPolicy},
	FnSetGovernance:    {run: (*Contract).setGovernance},
	FnPropose:          {run: (*Contract).propose},
	FnApprove:          {run: (*Contract).approve},

	FnGetEntry:         {query: true, run: (*Contract).getEntry},
	FnListEntries:      {query: true, run: (*Contract).listEntries},
	FnGetAccount:       {query: true, run: (*Contract).getAccount},
	FnListAccounts:     {query: true, run: (*Contract).listAccounts},
	FnGetSnapshot:      {query: true, run: (*Contract).getSnapshot},
	FnGetInstitution:   {query: true, run: (*Contract).getInstitution},
	FnListInstitutions: {query: true, run: (*Contract).listInstitutions},
	FnGetPrices:        {query: true, run: (*Contract).getPrices},
	FnGetPeriod:        {query: true, run: (*Contract).getPeriod},
	FnGetCatalog:       {query: true, run: (*Contract).getCatalog},
	FnListExposures:    {query: true, run: (*Contract).listExposures},
	FnListBacklogs:     {query: true, run: (*Contract).listBacklogs},
	FnListUndrained:    {query: true, run: (*Contract).listUndrained},
	FnListQuality:      {query: true, run: (*Contract).listQuality},
	FnGetQualityPolicy: {query: true, run: (*Contract).getQualityPolicy},
	FnGetGovernance:    {query: true, run: (*Contract).getGovernance},
	FnGetProposal:      {query: true, run: (*Contract).getProposal},
	FnListProposals:    {query: true, run: (*Contract).listProposals},
}

// Functions returns the names of all contract functions, sorted.
func Functions() []string {
	names := make([]string, 0, len(functions))
	for n := range functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsQuery reports whether fn is a read-only query function.
func IsQuery(fn string) bool { return functions[fn].query }

// Invoke runs function fn with its JSON argument inside the host's
// transaction st and returns the JSON result. Any error is an *Error; on
// error the host must discard the transaction's writes.
func (c *Contract) Invoke(st State, fn string, arg []byte) ([]byte, error) {
	f, ok := functions[fn]
	if !ok {
		return nil, newError(CodeInvalidArgument, fmt.Sprintf("unknown function %.64q", fn))
	}
	if len(arg) > MaxArgSize {
		return nil, newError(CodeInvalidArgument, fmt.Sprintf("argument of %d bytes exceeds %d", len(arg), MaxArgSize))
	}
	es := newEntryState(st)
	out, err := f.run(c, es, arg)
	if err == nil {
		err = es.flush()
	}
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			return nil, ce
		}
		return nil, newError(CodeInternal, err.Error())
	}
	res, err := json.Marshal(out)
	if err != nil {
		return nil, newError(CodeInternal, "encode result: "+err.Error())
	}
	return res, nil
}

// decodeArg decodes exactly one JSON value with no unknown fields.
func decodeArg(arg []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(arg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return newError(CodeInvalidArgument, "decode argument: "+err.Error())
	}
	if dec.More() {
		return newError(CodeInvalidArgument, "trailing data after argument")
	}
	return nil
}

// requireRegulator rejects callers other than the regulator.
func (c *Contract) requireRegulator(st State) error {
	caller, err := st.Caller()
	if err != nil {
		return err
	}
	if caller != c.regulator {
		return newError(CodeForbidden, "only the regulator may do this")
	}
	return nil
}

// getJSON loads key into v; it reports false if the key is absent.
func getJSON(st State, key string, v any) (bool, error) {
	b, err := st.Get(key)
	if err != nil {
		return false, err
	}
	if b == nil {
		return false, nil
	}
	return true, decodeStored(key, b, v)
}

// decodeStored decodes a stored record; a failure means corrupted state.
func decodeStored(key string, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return newError(CodeInternal, fmt.Sprintf("stored %s: %v", key, err))
	}
	return nil
}

func putJSON(st State, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return newError(CodeInternal, "encode "+key+": "+err.Error())
	}
	return st.Put(key, b)
}

func (c *Contract) emit(st State, name string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return newError(CodeInternal, "encode event: "+err.Error())
	}
	return st.SetEvent(name, b)
}

// scan calls fn for each pair in [start, end) until fn returns false.
func scan(st State, start, end string, fn func(key string, value []byte) (bool, error)) error {
	it, err := st.Range(start, end)
	if err != nil {
		return err
	}
	defer it.Close()
	for {
		k, v, ok, err := it.Next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
}

// Event names.
const (
	EventRecord  = "riskmesh.record"
	EventReverse = "riskmesh.reverse"
	EventSettle  = "riskmesh.settle"
)
