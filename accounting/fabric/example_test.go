package fabric_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/fabric"
)

// New connects as one institution to its own peer; the Client is an
// accounting.Ledger. (Not run by go test: it needs a running network, e.g.
// `go run ./deploy/fabric/cmd/fabricnet up` and its network.json.)
func ExampleNew() {
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			log.Fatal(err)
		}
		return b
	}
	c, err := fabric.New(fabric.Config{
		MSPID:       "Bank1MSP",
		PeerAddress: "127.0.0.1:27090", // Bank1MSP's peer on the default local network
		TLSRootCert: read("peer-tls-ca.pem"),
		Certificate: read("user1-cert.pem"),
		PrivateKey:  read("user1-key.pem"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	var ledger accounting.Ledger = c
	_, err = ledger.Rollover(context.Background())
	var txErr *fabric.TxError
	switch {
	case errors.Is(err, accounting.ErrForbidden): // the contract's verdict: only the regulator rolls over
		fmt.Println("forbidden")
	case errors.As(err, &txErr): // a Fabric failure: which transaction, which phase
		fmt.Println(txErr.TxID, txErr.Phase, txErr.ValidationCode)
	}
}
