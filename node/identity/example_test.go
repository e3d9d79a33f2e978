package identity_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/riskmesh/riskmesh/node/identity"
)

func Example() {
	dir, err := os.MkdirTemp("", "riskmesh-identity")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	idDir := filepath.Join(dir, "bank1")

	// Once, when the institution joins: keys for its node, and an OPRF key
	// for each list category it will provide.
	if err := identity.Generate(idDir, "Bank1MSP", []string{"black", "grey"}, nil, "node1.bank1.example"); err != nil {
		log.Fatal(err)
	}

	// At every node start.
	id, err := identity.Load(idDir)
	if err != nil {
		log.Fatal(err)
	}
	_, provides := id.OPRFKey("black")
	fmt.Println(id.MSPID, len(id.Fingerprint.String()), provides)

	// What the regulator receives: public files only.
	m, err := identity.ReadMember(idDir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.MSPID, m.Roles, m.TLSFingerprint == id.Fingerprint)
	// Output:
	// Bank1MSP 64 true
	// Bank1MSP [requester provider] true
}
