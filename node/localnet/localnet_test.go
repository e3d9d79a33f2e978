package localnet_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/localnet"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// binary is the riskmesh binary TestMain builds for the tests that start
// nodes.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "localnet-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "riskmesh")
	out, err := exec.Command("go", "build", "-o", binary, "github.com/riskmesh/riskmesh/cmd/riskmesh").CombinedOutput()
	code := 1
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build riskmesh: %v\n%s", err, out)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

const listed = "+8613800000001"

// csvSource is a one-entry black list file in dir.
func csvSource(t *testing.T, dir, reference string) config.Source {
	t.Helper()
	path := filepath.Join(dir, reference+".csv")
	data := "id,type,category,reason,listed,reference\n" + listed + ",phone,1,7,2024-05-01," + reference + "\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.Source{Name: "black", Category: "black", Code: 1, Kind: config.KindCSV, Path: path,
		Mapping: &config.Mapping{ID: "id", Type: "type", Category: "category", Reason: "reason", Listed: "listed", Reference: "reference"}}
}

// TestNetwork starts two providers and a requester, queries, and checks the
// answer, the accounting entries and the stop.
func TestNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four node processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	lists := t.TempDir()
	var steps []string
	cfg := localnet.Config{
		Dir:    filepath.Join(t.TempDir(), "net"),
		Binary: binary,
		Members: []localnet.Member{
			{MSPID: "P1MSP", Categories: []string{"black"}, Sources: []config.Source{csvSource(t, lists, "P1")}},
			{MSPID: "P2MSP", Categories: []string{"black"}, Sources: []config.Source{csvSource(t, lists, "P2")}},
			{MSPID: "ReqMSP"},
		},
		Prices:      map[string]int64{"black": 5},
		StopTimeout: time.Minute,
		Progress:    func(s string) { steps = append(steps, s) },
	}
	net, err := localnet.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			net.Stop()
		}
	})
	if len(steps) != 5 {
		t.Errorf("progress steps %q, want 5", steps)
	}

	var last []localnet.CatalogProgress
	if err := net.WaitCatalogs(ctx, "ReqMSP", "black", 0, func(p []localnet.CatalogProgress) { last = p }); err != nil {
		t.Fatal(err)
	}
	if len(last) != 2 || !last[0].Ready || !last[1].Ready || !last[0].Published || last[0].Items != 1 {
		t.Errorf("last catalog progress %+v", last)
	}

	c, err := net.Client("ReqMSP")
	if err != nil {
		t.Fatal(err)
	}
	res := query(t, ctx, c, listed)
	var providers []string
	for _, h := range res.GetItems()[0].GetHits() {
		providers = append(providers, h.GetProvider())
	}
	if strings.Join(providers, ",") != "P1MSP,P2MSP" || res.GetAmount() != 10 {
		t.Errorf("hits from %v, amount %d; want P1MSP,P2MSP and 10", providers, res.GetAmount())
	}

	// The providers' outboxes submit their entries in the background.
	if err := net.Wait(ctx, "entries of the query", func() error {
		entries, err := net.Entries(ctx, 1)
		if err != nil {
			return err
		}
		var amount int64
		for _, e := range entries {
			amount += e.Amount
		}
		if len(entries) != 2 || amount != 10 {
			return fmt.Errorf("%d entries, %d tokens; want 2, 10", len(entries), amount)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}

	if _, err := net.Client("NobodyMSP"); !errors.Is(err, localnet.ErrUnknownNode) {
		t.Errorf("client of an unknown node: %v", err)
	}
	nodes := net.Nodes()
	stopped = true
	if err := net.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	for _, n := range nodes {
		if n.PID() != 0 {
			t.Errorf("%s still running", n.MSPID)
		}
		if fi, err := os.Stat(n.Log()); err != nil || fi.Size() == 0 {
			t.Errorf("%s's log: %v", n.MSPID, err)
		}
	}
	if _, err := net.Client("ReqMSP"); !errors.Is(err, localnet.ErrStopped) {
		t.Errorf("client after stop: %v", err)
	}
}

// TestStartFailsOnExitedNode: a node that cannot start is reported with its
// log, and the nodes already started are stopped.
func TestStartFailsOnExitedNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := localnet.Config{
		Dir:    t.TempDir(),
		Binary: binary,
		Members: []localnet.Member{{MSPID: "P1MSP", Categories: []string{"black"}, Sources: []config.Source{{
			Name: "missing", Category: "black", Code: 1, Kind: config.KindCSV, Path: "/nonexistent/list.csv",
			Mapping: &config.Mapping{ID: "id", FixedType: "phone", Category: "c", Reason: "r", Listed: "l"},
		}}}},
		// A node refusing to start: an API socket path it cannot create.
		Tune: func(msp string, c *config.Config) {
			if msp == "P1MSP" {
				c.Listen.API = "unix:/nonexistent/dir/api.sock"
			}
		},
	}
	_, err := localnet.Start(ctx, cfg)
	if !errors.Is(err, localnet.ErrExited) || !strings.Contains(err.Error(), "P1MSP") {
		t.Fatalf("start = %v, want ErrExited naming P1MSP", err)
	}
}

// TestDispute runs the regulator as the auditor, restarts a provider as a
// misbehaving one and checks that the requester's node disputes its answer
// by itself, the auditor upholds the dispute and the entry is reversed on
// the ledger.
func TestDispute(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node processes and the auditor service")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	net, err := localnet.Start(ctx, localnet.Config{
		Dir:    filepath.Join(t.TempDir(), "net"),
		Binary: binary,
		Members: []localnet.Member{
			{MSPID: "P1MSP", Categories: []string{"black"}, Sources: []config.Source{csvSource(t, t.TempDir(), "P1")}},
			{MSPID: "ReqMSP"},
		},
		Prices:      map[string]int64{"black": 5},
		Auditor:     true,
		StopTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := net.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	if net.AuditorAddress() == "" {
		t.Fatal("no auditor address")
	}
	if err := net.WaitCatalogs(ctx, "ReqMSP", "black", 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := net.Restart(ctx, localnet.DefaultRegulator, nil); !errors.Is(err, localnet.ErrConfig) {
		t.Errorf("restart of the regulator: %v, want ErrConfig", err)
	}
	old := net.Members()[0].Endpoint
	if err := net.Restart(ctx, "P1MSP", func(c *config.Config) { c.Provider.Misbehave = config.MisbehaveCorruptEvaluation }); err != nil {
		t.Fatal(err)
	}
	if net.Members()[0].Endpoint == old {
		t.Error("restarted on the same endpoint")
	}
	c, err := net.Client("ReqMSP")
	if err != nil {
		t.Fatal(err)
	}
	id, res := runQuery(t, ctx, c, []string{listed, "+8613800000002"}, []string{"P1MSP"})
	if p := res.GetProviders(); len(p) != 1 || p[0].GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_DISPUTED || p[0].GetAmount() != 10 {
		t.Fatalf("providers %v, want P1MSP disputed for 10 tokens", p)
	}
	var key *riskmeshv1.EntryKey
	if err := net.Wait(ctx, "the dispute reversed", func() error {
		rec, err := c.GetQuery(ctx, &riskmeshv1.GetQueryRequest{QueryId: id})
		if err != nil {
			return err
		}
		ds := rec.GetResult().GetProviders()[0].GetDisputes()
		if len(ds) != 1 || ds[0].GetState() != riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED {
			return fmt.Errorf("disputes %v", ds)
		}
		key = ds[0].GetKey()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	entries, err := net.Entries(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Reversal == nil || entries[0].Key.Sequence != key.GetSequence() || entries[0].Reversal.Auditor != localnet.DefaultRegulator {
		t.Errorf("entries %+v, want the disputed one reversed by the regulator", entries)
	}
}

func TestConfigErrors(t *testing.T) {
	src := config.Source{Name: "s", Category: "grey"}
	for name, cfg := range map[string]localnet.Config{
		"no directory":        {Members: []localnet.Member{{MSPID: "A"}}},
		"no members":          {Dir: "d"},
		"bad MSP id":          {Dir: "d", Members: []localnet.Member{{MSPID: "A B"}}},
		"duplicate MSP id":    {Dir: "d", Members: []localnet.Member{{MSPID: "A"}, {MSPID: "A"}}},
		"regulator twice":     {Dir: "d", Members: []localnet.Member{{MSPID: localnet.DefaultRegulator}}},
		"negative limit":      {Dir: "d", Members: []localnet.Member{{MSPID: "A", Limit: -1}}},
		"negative price":      {Dir: "d", Members: []localnet.Member{{MSPID: "A"}}, Prices: map[string]int64{"black": -1}},
		"negative live price": {Dir: "d", Members: []localnet.Member{{MSPID: "A"}}, LivePrices: map[string]int64{"black": -1}},
		"source not provided": {Dir: "d", Members: []localnet.Member{{MSPID: "A", Categories: []string{"black"}, Sources: []config.Source{src}}}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Binary = "riskmesh"
			if _, err := localnet.Start(context.Background(), cfg); !errors.Is(err, localnet.ErrConfig) {
				t.Errorf("Start = %v, want ErrConfig", err)
			}
		})
	}
}

// query runs one query and returns its final result.
func query(t *testing.T, ctx context.Context, c riskmeshv1.RiskMeshClient, phones ...string) *riskmeshv1.QueryResult {
	t.Helper()
	_, res := runQuery(t, ctx, c, phones, nil)
	return res
}

// runQuery runs one query of phones, restricted to providers if any, and
// returns its id and final result.
func runQuery(t *testing.T, ctx context.Context, c riskmeshv1.RiskMeshClient, phones, providers []string) (string, *riskmeshv1.QueryResult) {
	t.Helper()
	req := &riskmeshv1.QueryRequest{Category: "black", Providers: providers}
	for _, p := range phones {
		req.Identifiers = append(req.Identifiers, &riskmeshv1.Identifier{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: p})
	}
	stream, err := c.Query(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	id := ""
	for range 100 {
		ev, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetAccepted(); a != nil {
			id = a.GetQueryId()
		}
		if r := ev.GetResult(); r != nil {
			return id, r
		}
	}
	t.Fatal("query stream ended without a result")
	return "", nil
}
