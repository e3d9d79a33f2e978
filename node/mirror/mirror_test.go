package mirror

// The test network: an embedded ledger with a requester and one provider
// running the real node/provider, reached through Send without QUIC (the
// requester's tests cover the transport: node/requester's catalogs_test.go).

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

const (
	requesterMSP = "Bank1MSP"
	providerMSP  = "P1MSP"
	listed       = 50 // phone numbers the provider lists
)

// network is the ledger, the requester's registry cache and the provider.
type network struct {
	dir    *registry.Directory
	prov   *provider.Provider
	key    *oprf.PrivateKey
	period uint64

	mu        sync.Mutex
	downloads int  // catalog_download requests served
	corrupt   bool // flip a bit of every chunk served (a dishonest provider)
}

// newNetwork opens period 1 and waits for the provider's catalog.
func newNetwork(t *testing.T) *network {
	t.Helper()
	ctx := t.Context()
	store, err := accounting.OpenEmbedded(filepath.Join(t.TempDir(), "ledger.db"), accounting.EmbeddedConfig{})
	must(t, err)
	t.Cleanup(func() { store.Close() })
	regulator, err := store.As(accounting.DefaultRegulator)
	must(t, err)
	must(t, regulator.AddInstitution(ctx, requesterMSP, "Bank One", []accounting.Role{accounting.RoleRequester}))
	must(t, regulator.AddInstitution(ctx, providerMSP, "Provider One", []accounting.Role{accounting.RoleProvider}))
	must(t, regulator.SetPrice(ctx, testCategory, 1))
	req, err := store.As(requesterMSP)
	must(t, err)
	prov, err := store.As(providerMSP)
	must(t, err)

	n := &network{dir: registry.New(req, registry.Options{})}
	n.key, err = oprf.GenerateKey(rand.Reader)
	must(t, err)
	var csv strings.Builder
	csv.WriteString("phone,cat,reason,listed\n")
	for i := range listed {
		fmt.Fprintf(&csv, "+86138%08d,1,%d,2026-01-15\n", i, i)
	}
	text := csv.String()
	src, err := lists.NewDelimited(func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(text)), nil },
		lists.DelimitedConfig{Mapping: lists.Mapping{ID: "phone", FixedType: "phone", Category: "cat",
			Reason: "reason", Listed: "listed"}})
	must(t, err)
	home := t.TempDir()
	db, err := bolt.Open(filepath.Join(home, "node.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	must(t, err)
	sigKey, sigPub, err := ecsig.GenerateKey(rand.Reader)
	must(t, err)
	n.prov, err = provider.New(provider.Config{
		MSPID: providerMSP, Ledger: prov, Directory: n.dir,
		Keys: map[string]*oprf.PrivateKey{testCategory: n.key}, Sign: ecsig.NewSigner(sigKey, rand.Reader), DB: db,
		DataDir: home, Sources: []provider.Source{{Name: "list", Category: testCategory, Code: 1, Source: src}},
	})
	must(t, err)
	cert, err := selfsigned.New(providerMSP, nil, nil, time.Now())
	must(t, err)
	fp := peer.FingerprintOf(cert.Certificate[0])
	must(t, prov.UpdateProfile(ctx, accounting.Profile{Endpoint: "127.0.0.1:1", TLSFingerprint: fp[:], SigningKey: sigPub}))
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = n.prov.Run(rctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		db.Close()
	})
	p, err := regulator.Rollover(ctx)
	must(t, err)
	n.period = p.Number
	must(t, n.dir.Refresh(ctx))
	timeout := time.After(time.Minute)
	for {
		changed := n.prov.CatalogChanges()
		if _, err := regulator.Catalog(ctx, providerMSP, testCategory, n.period); err == nil {
			break
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("the provider did not publish: %v", n.prov.CatalogStatus(""))
		}
	}
	must(t, n.dir.Refresh(ctx)) // the provider registered its OPRF key on the way
	return n
}

// send is the provider's node as Send reaches it, with the network's knobs.
func (n *network) send(ctx context.Context, inst *accounting.Institution, req *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
	if inst.MSPID != providerMSP {
		return nil, fmt.Errorf("no node for %s", inst.MSPID)
	}
	resp := n.prov.Handle(ctx, peer.Identity{MSPID: requesterMSP}, req)
	n.mu.Lock()
	defer n.mu.Unlock()
	if chunk := resp.GetCatalogChunk(); chunk != nil {
		n.downloads++
		if n.corrupt {
			chunk.Data = slices.Clone(chunk.Data)
			chunk.Data[len(chunk.Data)/2] ^= 1
		}
	}
	if pe := resp.GetError(); pe != nil {
		return resp, &peer.RemoteError{Code: pe.GetCode(), Message: pe.GetMessage(), Detail: pe}
	}
	return resp, nil
}

func (n *network) served() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.downloads
}

// newMirror opens a mirror of the network for msp over dir.
func (n *network) newMirror(t *testing.T, msp, dir string) *Mirror {
	t.Helper()
	m, err := New(Config{
		MSPID: msp, Directory: n.dir, Send: n.send, CatalogDir: dir,
		CatalogChunk: 1024, CatalogRetry: time.Hour,
	})
	must(t, err)
	return m
}

func TestMirrorHoldsTheVerifiedCatalog(t *testing.T) {
	n := newNetwork(t)
	dir := t.TempDir()
	m := n.newMirror(t, requesterMSP, dir)
	if _, _, ok := m.Ready(providerMSP, testCategory, n.period); ok {
		t.Fatal("ready before any download")
	}
	m.Sync(t.Context())
	psi, keyID, ok := m.Ready(providerMSP, testCategory, n.period)
	if !ok || psi == nil || keyID != n.key.Public().KeyID() {
		t.Fatalf("Ready = %v, %x, %v; want the catalog under the provider's key", psi, keyID, ok)
	}
	if _, _, ok := m.Ready(providerMSP, testCategory, n.period+1); ok {
		t.Fatal("ready for a period never downloaded")
	}
	got := m.RemoteCatalogs()
	if len(got) != 1 || got[0].State != riskmeshv1.CatalogState_CATALOG_STATE_READY || got[0].Items != listed ||
		got[0].BytesDone != got[0].TotalLength || got[0].Period != n.period {
		t.Fatalf("RemoteCatalogs = %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, providerMSP, testCategory, fmt.Sprintf("%d.cat", n.period))); err != nil {
		t.Fatalf("catalog file: %v", err)
	}
	if n.served() < 2 {
		t.Fatalf("%d chunks served; want several of 1 KiB", n.served())
	}

	// A restarted node verifies its file instead of downloading again.
	before := n.served()
	again := n.newMirror(t, requesterMSP, dir)
	again.Sync(t.Context())
	if _, _, ok := again.Ready(providerMSP, testCategory, n.period); !ok || n.served() != before {
		t.Fatalf("after a restart: ready %v, %d more chunks served; want ready from disk", ok, n.served()-before)
	}
}

func TestMirrorNeverFetchesItsOwnCatalog(t *testing.T) {
	n := newNetwork(t)
	m := n.newMirror(t, providerMSP, t.TempDir())
	m.Sync(t.Context())
	if got := m.RemoteCatalogs(); len(got) != 0 || n.served() != 0 {
		t.Fatalf("the provider's own mirror tracks %v and fetched %d chunks", got, n.served())
	}
}

// TestAdversaryProviderServesAnotherCatalog: a provider that serves bytes
// other than the catalog whose digest it published gets no catalog used,
// nothing kept on disk, and a FAILED status saying why.
func TestAdversaryProviderServesAnotherCatalog(t *testing.T) {
	n := newNetwork(t)
	n.corrupt = true
	dir := t.TempDir()
	m := n.newMirror(t, requesterMSP, dir)
	changed := m.Changes()
	m.Sync(t.Context())
	select {
	case <-changed:
	default:
		t.Fatal("Changes not signalled after an attempt")
	}
	if _, _, ok := m.Ready(providerMSP, testCategory, n.period); ok {
		t.Fatal("a catalog with bad bytes is ready")
	}
	got := m.RemoteCatalogs()
	if len(got) != 1 || got[0].State != riskmeshv1.CatalogState_CATALOG_STATE_FAILED || got[0].Error == "" {
		t.Fatalf("RemoteCatalogs = %v; want FAILED with the reason", got)
	}
	files, _ := filepath.Glob(filepath.Join(dir, providerMSP, testCategory, "*"))
	if len(files) != 0 {
		t.Fatalf("bad bytes kept: %v", files)
	}
}

// TestAdversaryCatalogFileAlteredOnDisk: a catalog file changed on disk
// after verification (cut short, a byte flipped, bytes appended) is never
// served by a restarted node: it fails verification against the ledger's
// digest, is removed and is downloaded again. A verified file is read-only
// and is what lookups read (mapped, not copied into the heap).
func TestAdversaryCatalogFileAlteredOnDisk(t *testing.T) {
	n := newNetwork(t)
	dir := t.TempDir()
	n.newMirror(t, requesterMSP, dir).Sync(t.Context())
	path := filepath.Join(dir, providerMSP, testCategory, fmt.Sprintf("%d.cat", n.period))
	good, err := os.ReadFile(path)
	must(t, err)
	st, err := os.Stat(path)
	must(t, err)
	if st.Mode().Perm() != 0o400 {
		t.Fatalf("verified catalog file mode %v, want read-only", st.Mode().Perm())
	}
	flipped := slices.Clone(good)
	flipped[len(flipped)-1] ^= 1
	for name, bad := range map[string][]byte{
		"cut short": good[:len(good)-1], "byte flipped": flipped, "byte appended": append(slices.Clone(good), 0),
	} {
		t.Run(name, func(t *testing.T) {
			must(t, os.Chmod(path, 0o600))
			must(t, os.WriteFile(path, bad, 0o600))
			m := n.newMirror(t, requesterMSP, dir)
			m.Sync(t.Context())
			if _, _, ok := m.Ready(providerMSP, testCategory, n.period); ok {
				t.Fatal("an altered catalog file is ready")
			}
			if got := m.RemoteCatalogs(); len(got) != 1 || got[0].State != riskmeshv1.CatalogState_CATALOG_STATE_FAILED {
				t.Fatalf("RemoteCatalogs = %v; want FAILED", got)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("altered file kept: %v", err)
			}
			before := n.served()
			again := n.newMirror(t, requesterMSP, dir)
			again.Sync(t.Context())
			if _, _, ok := again.Ready(providerMSP, testCategory, n.period); !ok || n.served() == before {
				t.Fatalf("ready %v after %d chunks; want the catalog fetched again", ok, n.served()-before)
			}
			if runtime.GOOS == "linux" && catalog.MappedBytes() < int64(len(good)) {
				t.Fatalf("%d bytes of catalogs mapped; want the %d-byte catalog read from its file", catalog.MappedBytes(), len(good))
			}
			got, err := os.ReadFile(path)
			must(t, err)
			if !slices.Equal(got, good) {
				t.Fatal("the altered file is still on disk")
			}
		})
	}
}
