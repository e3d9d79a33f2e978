package synth_test

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
)

// A small consortium, a black-list query with planted hits, and one list
// written as CSV and read back the way a node reads it.
func Example() {
	c, err := synth.Generate(synth.Config{Seed: 1, Entries: 30_000})
	if err != nil {
		panic(err)
	}
	for _, l := range c.Lists {
		fmt.Println(l.MSPID, len(l.Entries))
	}

	b, err := c.Batch(synth.BatchConfig{Seed: 1, Category: synth.Black, Size: 100, Hits: 5, MultiHits: 2, Invalid: 3})
	if err != nil {
		panic(err)
	}
	hits, several, invalid := 0, 0, 0
	for _, it := range b.Items {
		switch {
		case it.Invalid != nil:
			invalid++
		case len(it.Hits) > 1:
			several++
			fallthrough
		case len(it.Hits) == 1:
			hits++
		}
	}
	fmt.Printf("%v query: %d items, %d hits (%d on several lists), %d invalid\n", b.Category, len(b.Items), hits, several, invalid)

	var csv bytes.Buffer
	if err := synth.WriteCSV(&csv, c.Lists[0]); err != nil {
		panic(err)
	}
	src, err := lists.NewDelimited(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(csv.Bytes())), nil },
		lists.DelimitedConfig{Mapping: synth.Mapping()})
	if err != nil {
		panic(err)
	}
	rep, err := lists.Drain(src.Entries(context.Background(), uint8(synth.Black)), func(catalogpsi.Entry) error { return nil })
	fmt.Printf("read back: %d black entries, %d rejected, %v\n", rep.Entries, rep.Rejected, err)
	// Output:
	// Bank1MSP 15000
	// Bank2MSP 9000
	// Lender3MSP 6000
	// black query: 100 items, 5 hits (2 on several lists), 3 invalid
	// read back: 2995 black entries, 0 rejected, <nil>
}
