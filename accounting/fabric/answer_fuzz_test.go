package fabric

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// answer is a peer that sends the same bytes back to every call, as a
// Fabric peer's proposal response payload reaches this package's Client:
// the contract's result, or whatever a faulty or hostile peer puts there.
type answer []byte

func (a answer) Submit(context.Context, string, []byte) ([]byte, error)   { return a, nil }
func (a answer) Evaluate(context.Context, string, []byte) ([]byte, error) { return a, nil }

// fuzzEntry is the one entry the fuzzed Record call submits.
var fuzzEntry = func() accounting.Entry {
	h := transcript.Header{Protocol: transcript.ProtocolCatalogOPRF, Suite: transcript.SuiteRistretto255SHA512,
		Category: "black", Period: 3, Requester: "Bank1MSP", Responder: "Bank2MSP", Sequence: 9, Count: 1}
	hdr, err := h.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return accounting.Entry{Header: hdr}
}()

// decoders are the Client's calls whose answers a peer writes, each
// returning what it decoded.
var decoders = []func(ctx context.Context, c *accounting.Client) (any, error){
	func(ctx context.Context, c *accounting.Client) (any, error) { return c.Institution(ctx, "Bank1MSP") },
	func(ctx context.Context, c *accounting.Client) (any, error) { return c.Institutions(ctx) },
	func(ctx context.Context, c *accounting.Client) (any, error) {
		return c.Catalog(ctx, "Bank1MSP", "black", 1)
	},
	func(ctx context.Context, c *accounting.Client) (any, error) { return c.Prices(ctx) },
	func(ctx context.Context, c *accounting.Client) (any, error) {
		return c.Record(ctx, []accounting.Entry{fuzzEntry})
	},
	func(ctx context.Context, c *accounting.Client) (any, error) {
		return c.Entry(ctx, accounting.EntryKey{Period: 1, Requester: "A", Responder: "B", Sequence: 1})
	},
	func(ctx context.Context, c *accounting.Client) (any, error) {
		return c.Entries(ctx, accounting.EntriesQuery{Period: 1, Party: "A"})
	},
	func(ctx context.Context, c *accounting.Client) (any, error) { return c.Rollover(ctx) },
	func(ctx context.Context, c *accounting.Client) (any, error) { return c.Settle(ctx, 1, 0) },
	func(ctx context.Context, c *accounting.Client) (any, error) { return c.TakeSnapshot(ctx, 1) },
	func(ctx context.Context, c *accounting.Client) (any, error) { return c.MarkPaid(ctx, 1) },
	func(ctx context.Context, c *accounting.Client) (any, error) { return c.Period(ctx, 0) },
	func(ctx context.Context, c *accounting.Client) (any, error) { return c.Account(ctx, "Bank1MSP") },
	func(ctx context.Context, c *accounting.Client) (any, error) { return c.Accounts(ctx) },
	func(ctx context.Context, c *accounting.Client) (any, error) { return c.Exposures(ctx) },
	func(ctx context.Context, c *accounting.Client) (any, error) { return c.Backlogs(ctx, 1) },
}

// FuzzDecodeAnswer feeds arbitrary peer answers to every result decoder of
// the client this package's Client embeds. It must never panic; a failure
// must be accounting.ErrBadResult (so callers can tell a hostile answer
// from a contract rejection or a transport failure); and whatever it
// accepts must survive a round trip: re-encoded and decoded again it is
// accepted and re-encodes to the same bytes, so no two readings of one
// answer can differ.
func FuzzDecodeAnswer(f *testing.F) {
	for _, seed := range []struct {
		fn  uint8
		res string
	}{
		{0, `{"mspId":"Bank1MSP","name":"b","status":"active","roles":["provider"],"rolesRemovedIn":{"requester":3}}`},
		{3, `{"black":2,"grey":1}`},
		{4, `[{"index":0,"key":{"period":3,"requester":"Bank1MSP","responder":"Bank2MSP","sequence":9},"status":"recorded"}]`},
		{4, `[{"index":0,"key":{"period":3,"requester":"Bank1MSP","responder":"Bank2MSP","sequence":8},"status":"recorded"}]`},
		{4, `[{"index":0,"status":"rejected","code":"forbidden"}]`},
		{11, `{"number":2,"state":"closed","prices":{"black":2},"undrained":[{"mspId":"B","period":2,"pending":1}]}`},
		{13, `[{"mspId":"A","balance":-5,"limit":3,"flagged":true,"unpaidSince":1}]`},
		{14, `[{"mspId":"A","balance":0,"limit":10,"unsettled":12,"headroom":-2}]`},
		{6, `{"entries":[{"key":{"period":1},"header":"AQI=","amount":5}],"bookmark":"x"}`},
		{2, `null`},
		{7, `{"number":1e3}`},
		{1, "[\"\xff\"]"},
	} {
		f.Add(seed.fn, []byte(seed.res))
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, fn uint8, res []byte) {
		decode := decoders[int(fn)%len(decoders)]
		v, err := decode(ctx, accounting.NewClient(answer(res)))
		if err != nil {
			if !errors.Is(err, accounting.ErrBadResult) {
				t.Fatalf("answer %q: error %v is not ErrBadResult", res, err)
			}
			return
		}
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("accepted answer %q does not re-encode: %v", res, err)
		}
		again, err := decode(ctx, accounting.NewClient(answer(enc)))
		if err != nil {
			t.Fatalf("re-encoded answer %s refused: %v", enc, err)
		}
		enc2, err := json.Marshal(again)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("answer %q read back differently:\n%s\n%s", res, enc, enc2)
		}
	})
}
