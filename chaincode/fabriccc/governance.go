package fabriccc

import (
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/riskmesh/riskmesh/chaincode"
)

// The member-governance functions (docs/governance.md).

// SetGovernance runs chaincode.FnSetGovernance.
func (c *Contract) SetGovernance(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnSetGovernance, arg)
}

// Propose runs chaincode.FnPropose.
func (c *Contract) Propose(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnPropose, arg)
}

// Approve runs chaincode.FnApprove.
func (c *Contract) Approve(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnApprove, arg)
}

// Execute runs chaincode.FnExecute.
func (c *Contract) Execute(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnExecute, arg)
}

// GetGovernance runs chaincode.FnGetGovernance.
func (c *Contract) GetGovernance(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnGetGovernance, arg)
}

// GetProposal runs chaincode.FnGetProposal.
func (c *Contract) GetProposal(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnGetProposal, arg)
}

// ListProposals runs chaincode.FnListProposals.
func (c *Contract) ListProposals(ctx contractapi.TransactionContextInterface, arg string) (string, error) {
	return c.invoke(ctx, chaincode.FnListProposals, arg)
}
