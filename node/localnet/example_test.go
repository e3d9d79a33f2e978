package localnet_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/localnet"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Example starts a provider and a requester beside the regulator, waits for
// the requester to hold the provider's catalog and asks it about one phone
// number. It needs a riskmesh binary (go build ./cmd/riskmesh), so it is
// compiled but not run by go test.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	net, err := localnet.Start(ctx, localnet.Config{
		Dir:    "/tmp/riskmesh-net",
		Binary: "./riskmesh",
		Members: []localnet.Member{
			{MSPID: "Bank1MSP", Categories: []string{"black"}, Sources: []config.Source{{
				Name: "fraud", Category: "black", Code: 1, Kind: config.KindCSV, Path: "/srv/lists/fraud.csv",
				Mapping: &config.Mapping{ID: "phone", FixedType: "phone", Category: "cat", Reason: "reason", Listed: "since"},
			}}},
			{MSPID: "Lender2MSP"},
		},
		Prices:   map[string]int64{"black": 3},
		Progress: func(step string) { log.Print(step) },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer net.Stop()
	if err := net.WaitCatalogs(ctx, "Lender2MSP", "black", 0, nil); err != nil {
		log.Fatal(err)
	}
	api, err := net.Client("Lender2MSP")
	if err != nil {
		log.Fatal(err)
	}
	stream, err := api.Query(ctx, &riskmeshv1.QueryRequest{Category: "black", Identifiers: []*riskmeshv1.Identifier{
		{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: "+8613800000001"},
	}})
	if err != nil {
		log.Fatal(err)
	}
	for {
		ev, err := stream.Recv()
		if err != nil {
			log.Fatal(err)
		}
		if r := ev.GetResult(); r != nil {
			fmt.Println("providers listing it:", len(r.GetItems()[0].GetHits()))
			return
		}
	}
}
