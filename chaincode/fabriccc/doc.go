// Package fabriccc runs the RiskMesh contract (package chaincode) inside
// Hyperledger Fabric: a fabric-contract-api-go contract whose transactions
// are the chaincode functions, over an adapter from the chaincode stub and
// client identity to chaincode.State.
//
// Contract errors reach clients as "riskmesh: <code>: <detail>" messages
// (chaincode.ParseError). It does not promise anything about Fabric
// endorsement policies: the network's policy decides which peers endorse.
package fabriccc
