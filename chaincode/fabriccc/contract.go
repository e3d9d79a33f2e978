package fabriccc

import (
	"fmt"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/riskmesh/riskmesh/chaincode"
)

// Contract exposes every chaincode function to Fabric under its chaincode.Fn*
// name, each taking the one JSON argument as a string and returning the JSON
// result as a string. The methods are generated one per function because
// contractapi discovers transactions by reflection over exported methods.
type Contract struct {
	contractapi.Contract
	logic *chaincode.Contract
}

// NewContract returns the Fabric contract with regulator as the regulator
// organisation, configured by opts (chaincode.WithGenesis).
func NewContract(regulator string, opts ...chaincode.Option) (*Contract, error) {
	logic, err := chaincode.New(regulator, opts...)
	if err != nil {
		return nil, err
	}
	return &Contract{logic: logic}, nil
}

// NewChaincode returns the chaincode (the contract as the default and only
// contract, so functions are called by their bare names).
func NewChaincode(regulator string, opts ...chaincode.Option) (*contractapi.ContractChaincode, error) {
	c, err := NewContract(regulator, opts...)
	if err != nil {
		return nil, err
	}
	cc, err := contractapi.NewChaincode(c)
	if err != nil {
		return nil, fmt.Errorf("fabriccc: %w", err)
	}
	cc.Info.Title = "riskmesh"
	cc.Info.Version = "1"
	cc.TransactionSerializer = stringSerializer{}
	return cc, nil
}

func (c *Contract) invoke(ctx contractapi.TransactionContextInterface, fn, arg string) (string, error) {
	st := &fabricState{stub: ctx.GetStub(), mspID: ctx.GetClientIdentity().GetMSPID}
	res, err := c.logic.Invoke(st, fn, []byte(arg))
	if err != nil {
		return "", err
	}
	return string(res), nil
}

// AddInstitution runs chaincode.FnAddInstitution.
func (c *Contract) AddInstitution(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnAddInstitution, arg)
}

// SetStatus runs chaincode.FnSetStatus.
func (c *Contract) SetStatus(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnSetStatus, arg)
}

// SetRoles runs chaincode.FnSetRoles.
func (c *Contract) SetRoles(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnSetRoles, arg)
}

// SetPrice runs chaincode.FnSetPrice.
func (c *Contract) SetPrice(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnSetPrice, arg)
}

// SetLimit runs chaincode.FnSetLimit.
func (c *Contract) SetLimit(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnSetLimit, arg)
}

// Rollover runs chaincode.FnRollover.
func (c *Contract) Rollover(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnRollover, arg)
}

// ClosePeriod runs chaincode.FnClosePeriod.
func (c *Contract) ClosePeriod(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnClosePeriod, arg)
}

// Settle runs chaincode.FnSettle.
func (c *Contract) Settle(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnSettle, arg)
}

// Snapshot runs chaincode.FnSnapshot.
func (c *Contract) Snapshot(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnSnapshot, arg)
}

// MarkPaid runs chaincode.FnMarkPaid.
func (c *Contract) MarkPaid(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnMarkPaid, arg)
}

// RecordPayments runs chaincode.FnRecordPayments.
func (c *Contract) RecordPayments(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnRecordPayments, arg)
}

// ListUndrained runs chaincode.FnListUndrained.
func (c *Contract) ListUndrained(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnListUndrained, arg)
}

// ReportBacklog runs chaincode.FnReportBacklog.
func (c *Contract) ReportBacklog(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnReportBacklog, arg)
}

// ListExposures runs chaincode.FnListExposures.
func (c *Contract) ListExposures(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnListExposures, arg)
}

// ListBacklogs runs chaincode.FnListBacklogs.
func (c *Contract) ListBacklogs(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnListBacklogs, arg)
}

// UpdateProfile runs chaincode.FnUpdateProfile.
func (c *Contract) UpdateProfile(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnUpdateProfile, arg)
}

// SetOPRFKey runs chaincode.FnSetOPRFKey.
func (c *Contract) SetOPRFKey(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnSetOPRFKey, arg)
}

// PublishCatalog runs chaincode.FnPublishCatalog.
func (c *Contract) PublishCatalog(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnPublishCatalog, arg)
}

// Record runs chaincode.FnRecord.
func (c *Contract) Record(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnRecord, arg)
}

// Reverse runs chaincode.FnReverse.
func (c *Contract) Reverse(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnReverse, arg)
}

// GetEntry runs chaincode.FnGetEntry.
func (c *Contract) GetEntry(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnGetEntry, arg)
}

// ListEntries runs chaincode.FnListEntries.
func (c *Contract) ListEntries(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnListEntries, arg)
}

// GetAccount runs chaincode.FnGetAccount.
func (c *Contract) GetAccount(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnGetAccount, arg)
}

// ListAccounts runs chaincode.FnListAccounts.
func (c *Contract) ListAccounts(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnListAccounts, arg)
}

// GetSnapshot runs chaincode.FnGetSnapshot.
func (c *Contract) GetSnapshot(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnGetSnapshot, arg)
}

// GetInstitution runs chaincode.FnGetInstitution.
func (c *Contract) GetInstitution(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnGetInstitution, arg)
}

// ListInstitutions runs chaincode.FnListInstitutions.
func (c *Contract) ListInstitutions(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnListInstitutions, arg)
}

// GetPrices runs chaincode.FnGetPrices.
func (c *Contract) GetPrices(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnGetPrices, arg)
}

// GetPeriod runs chaincode.FnGetPeriod.
func (c *Contract) GetPeriod(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnGetPeriod, arg)
}

// GetCatalog runs chaincode.FnGetCatalog.
func (c *Contract) GetCatalog(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnGetCatalog, arg)
}

// ReportOutcomes runs chaincode.FnReportOutcomes.
func (c *Contract) ReportOutcomes(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnReportOutcomes, arg)
}

// SetQualityPolicy runs chaincode.FnSetQualityPolicy.
func (c *Contract) SetQualityPolicy(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnSetQualityPolicy, arg)
}

// GetQualityPolicy runs chaincode.FnGetQualityPolicy.
func (c *Contract) GetQualityPolicy(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnGetQualityPolicy, arg)
}

// ListQuality runs chaincode.FnListQuality.
func (c *Contract) ListQuality(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnListQuality, arg)
}
