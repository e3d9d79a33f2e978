package fabric_test

import (
	"context"
	"fmt"
	"log"

	"github.com/riskmesh/riskmesh/deploy/fabric"
)

// Up starts the whole network and returns when every organisation's gateway
// can endorse; Stop stops exactly the processes it started. (Not run by
// go test: it builds Fabric and starts six processes.)
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
