// Command riskmesh-chaincode runs the RiskMesh contract as a Fabric
// chaincode-as-a-service server (fabric-chaincode-go shim ChaincodeServer
// with fabric-contract-api-go), for Fabric's ccaas external builders.
//
// Configuration, all from the environment, all required but the last:
//
//	CHAINCODE_ID                   the package id the peers know the chaincode by
//	CHAINCODE_SERVER_ADDRESS       listen address, e.g. 127.0.0.1:9999
//	RISKMESH_REGULATOR_MSPID       the regulator organisation's MSP id
//	RISKMESH_GOVERNANCE_THRESHOLD  genesis governance: unset or 0, the
//	                               regulator decides alone; k > 0, k members
//	                               approve each decision (docs/governance.md)
//
// The regulator is fixed here, at deployment, so no transaction can claim the
// role. The server speaks plain gRPC without TLS: it is meant to listen on
// loopback next to the peers, which Fabric's connection.json allows with
// "tls_required": false.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/chaincode/fabriccc"
)

func main() {
	if err := run(os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "riskmesh-chaincode:", err)
		os.Exit(1)
	}
}

func run(getenv func(string) string) error {
	server, err := newServer(getenv)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "riskmesh-chaincode: serving %s on %s\n", server.CCID, server.Address)
	return server.Start()
}

func newServer(getenv func(string) string) (*shim.ChaincodeServer, error) {
	id, addr, reg := getenv("CHAINCODE_ID"), getenv("CHAINCODE_SERVER_ADDRESS"), getenv("RISKMESH_REGULATOR_MSPID")
	if id == "" || addr == "" || reg == "" {
		return nil, errors.New("CHAINCODE_ID, CHAINCODE_SERVER_ADDRESS and RISKMESH_REGULATOR_MSPID must be set")
	}
	genesis, err := chaincode.GenesisThreshold(getenv("RISKMESH_GOVERNANCE_THRESHOLD"))
	if err != nil {
		return nil, err
	}
	cc, err := fabriccc.NewChaincode(reg, chaincode.WithGenesis(genesis))
	if err != nil {
		return nil, err
	}
	return &shim.ChaincodeServer{
		CCID:     id,
		Address:  addr,
		CC:       cc,
		TLSProps: shim.TLSProperties{Disabled: true},
	}, nil
}
