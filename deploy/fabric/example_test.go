package fabric_test

import (
	"context"
	"fmt"
	"log"

	"github.com/riskmesh/riskmesh/deploy/fabric"
)

// Up starts the whole network and returns when every organisation's gateway
// can endorse; Stop stops exactly the processes it started. (Not run by
// go test: it builds Fabric and starts eight processes.)
func ExampleUp() {
	n, err := fabric.Up(context.Background(), fabric.Config{
		DataDir:        "/tmp/riskmesh-fabric",
		KillWithParent: true, // die with this process
	})
	if err != nil {
		log.Fatal(err)
	}
	defer n.Stop()
	bank1, err := n.Org("Bank1MSP")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Bank1MSP's gateway:", bank1.PeerAddress)
}

// AddOrg admits an organisation to the running channel: a majority of the
// members' admins sign the configuration update, then the newcomer's peer
// joins, catches up and approves the chaincode. Onboarding it in RiskMesh
// (AddInstitution) is the regulator's next step. (Not run by go test.)
func ExampleNetwork_AddOrg() {
	n, err := fabric.Up(context.Background(), fabric.Config{
		DataDir:        "/tmp/riskmesh-fabric",
		Orgs:           fabric.Orgs[:3], // the regulator and two banks found the channel
		KillWithParent: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer n.Stop()
	org, err := n.AddOrg(context.Background(), fabric.OrgSpec{Name: "bank3", MSPID: "Bank3MSP"},
		[]string{"RegulatorMSP", "Bank1MSP"}) // 2 of 3 admins
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Bank3MSP's gateway:", org.PeerAddress)
}
