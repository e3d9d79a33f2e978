//go:build tools

// Package build pins the Hyperledger Fabric v2.5.0 commands that the local
// test network runs. It exists only so that go.mod/go.sum record the exact
// dependency graph; deploy/fabric builds the binaries from it with go build.
package build

import (
	_ "github.com/hyperledger/fabric/cmd/configtxgen"
	_ "github.com/hyperledger/fabric/cmd/cryptogen"
	_ "github.com/hyperledger/fabric/cmd/orderer"
	_ "github.com/hyperledger/fabric/cmd/osnadmin"
	_ "github.com/hyperledger/fabric/cmd/peer"
)
