package chaincode_test

import (
	"fmt"

	"github.com/riskmesh/riskmesh/chaincode"
)

// The digest an auditor signs to uphold a dispute on one entry.
func ExampleEndorsementDigest() {
	key := chaincode.EntryKey{Period: 7, Requester: "Bank1MSP", Responder: "Bank2MSP", Sequence: 42}
	d, err := chaincode.EndorsementDigest(key, chaincode.VerdictUpheld)
	fmt.Printf("%x %v\n", d, err)
	// Output: eaa80b41ccc2ea0c881b86631e0a27566b9d3e0e8503fe4c0e500c25723b1ba9 <nil>
}
