package main

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// listsNode is the provider side behind a real API service: it records the
// requests and answers with canned reports.
type listsNode struct {
	mu       sync.Mutex
	imported *riskmeshv1.ImportListRequest
	refresh  []string
	answer   *riskmeshv1.ListImport
}

func (n *listsNode) Import(_ context.Context, req *riskmeshv1.ImportListRequest) (*riskmeshv1.ListImport, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.imported = req
	return n.answer, nil
}

func (n *listsNode) Refresh(_ context.Context, sources []string) ([]*riskmeshv1.ListImport, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.refresh = sources
	return []*riskmeshv1.ListImport{n.answer}, nil
}

func (*listsNode) CatalogStatus(string) []*riskmeshv1.LocalCatalog { return nil }

// serveLists serves the node API on a unix socket and returns its target.
func serveLists(t *testing.T, n *listsNode) string {
	t.Helper()
	return serveAPI(t, api.Config{Provider: n})
}

// serveAPI serves a real node API service with cfg on a unix socket and
// returns its target.
func serveAPI(t *testing.T, cfg api.Config) string {
	t.Helper()
	svc, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "api.sock")
	l, err := api.ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx, l, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "unix://" + sock
}

// import sends the request through the API (a relative path made absolute
// for a unix socket) and prints counts, rejected rows by line and the
// dry-run note; a source the node could not read fails the command.
func TestListsImport(t *testing.T) {
	n := &listsNode{answer: &riskmeshv1.ListImport{
		Source: "black-csv", Rows: 3, Accepted: 2, Rejected: 1,
		RejectedRows: []*riskmeshv1.RejectedRow{{Line: 3, Reason: "id: phone: bad length"}},
	}}
	target := serveLists(t, n)
	out, err := runRoot(t, "lists", "import", "--api", target, "--source", "black-csv", "--path", "list.csv", "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	req := n.imported
	if req.GetSource() != "black-csv" || !filepath.IsAbs(req.GetPath()) || filepath.Base(req.GetPath()) != "list.csv" || !req.GetDryRun() || req.GetReplace() {
		t.Fatalf("request %v", req)
	}
	for _, want := range []string{"black-csv: 3 rows, 2 accepted, 1 rejected", "line 3: id: phone: bad length", "dry run: nothing changed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	n.answer = &riskmeshv1.ListImport{Source: "black-csv", Error: "lists: line 2: malformed record"}
	out, err = runRoot(t, "lists", "import", "--api", target, "--source", "black-csv", "--path", "/srv/list.csv", "--replace", "--json")
	if err == nil || !strings.Contains(err.Error(), "black-csv") {
		t.Fatalf("unreadable source: err %v", err)
	}
	if !n.imported.GetReplace() || !strings.Contains(out, `"error"`) {
		t.Fatalf("replace not sent or JSON not printed: %v\n%s", n.imported, out)
	}
}

// refresh passes the named sources and prints what the rebuild will cover.
func TestListsRefresh(t *testing.T) {
	n := &listsNode{answer: &riskmeshv1.ListImport{Source: "grey", Rows: 5, Accepted: 5, Categories: []string{"grey"}}}
	target := serveLists(t, n)
	out, err := runRoot(t, "lists", "refresh", "--api", target, "grey")
	if err != nil {
		t.Fatal(err)
	}
	if len(n.refresh) != 1 || n.refresh[0] != "grey" || !strings.Contains(out, "catalogs to rebuild: grey") {
		t.Fatalf("refresh of %v printed:\n%s", n.refresh, out)
	}
}
