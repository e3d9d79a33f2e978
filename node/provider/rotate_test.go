package provider

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// serveQUIC serves p on a QUIC listener on 127.0.0.1 and returns the
// exchange of a requester connected to it; both end with the test.
func (f *fixture) serveQUIC(t *testing.T, p *Provider) exchange {
	t.Helper()
	provTLS, err := selfsigned.New(providerMSP, nil, nil, time.Now())
	must(t, err)
	reqTLS, err := selfsigned.New(requesterMSP, nil, nil, time.Now())
	must(t, err)
	known := map[[32]byte]string{
		peer.FingerprintOf(provTLS.Certificate[0]): providerMSP,
		peer.FingerprintOf(reqTLS.Certificate[0]):  requesterMSP,
	}
	auth := peer.AuthorizerFunc(func(fp [32]byte) (string, error) {
		if msp, ok := known[fp]; ok {
			return msp, nil
		}
		return "", errors.New("unknown certificate")
	})
	ctx, cancel := context.WithCancel(f.ctx)
	t.Cleanup(cancel)
	srv, err := peer.Listen(ctx, "127.0.0.1:0", peer.Config{Certificate: provTLS, Authorizer: auth, Handler: p.Handle,
		MaxRequestSize: riskmeshv1.MaxLiveQuerySize})
	must(t, err)
	t.Cleanup(func() { srv.Close() })
	conn, err := peer.Dial(ctx, srv.Addr().String(), peer.Config{Certificate: reqTLS, Authorizer: auth})
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	return func(req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		t.Helper()
		dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
		defer dcancel()
		resp, err := conn.Do(dctx, req)
		var re *peer.RemoteError
		if errors.As(err, &re) && re.Detail != nil {
			return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Error{Error: re.Detail}}
		}
		must(t, err)
		return resp
	}
}

// hitAndMiss looks a listed and an unlisted number up in period (lookupVia)
// and fails the test unless the first hits and the second misses.
func (f *fixture) hitAndMiss(via exchange, period uint64) {
	f.t.Helper()
	res := f.lookupVia(via, period, "+8613800138001", "+8613800138002")
	if !res[0].Hit || res[1].Hit {
		f.t.Fatalf("period %d results %+v, want a hit then a miss", period, res)
	}
}

func (f *fixture) rotate(key *oprf.PrivateKey) {
	f.t.Helper()
	must(f.t, f.p.RotateKey(f.ctx, category, key))
	f.refresh()
}

// A key rotated in period 1 after its catalog is published: period 1 keeps
// being answered under the old key, which its ledger record names, through
// its end (a new request in its grace window is refused); the registry announces the new key at once; period 2's
// catalog is built, published and answered under the new key; and a second
// rotation is refused until period 1's grace window ends.
func TestRotateKeyAcrossPeriods(t *testing.T) {
	f := newFixture(t, nil)
	f.maintain()
	conn := f.serveQUIC(t, f.p)
	f.hitAndMiss(conn, 1)
	oldKey := f.key
	newKey, err := oprf.GenerateKey(nil)
	must(t, err)
	must(t, f.p.CheckRotate(f.ctx, category)) // no previous key to drop

	f.rotate(newKey)
	t.Run("registry announces the new key", func(t *testing.T) {
		self, ok := f.dir.View().Institution(providerMSP)
		if !ok || !bytes.Equal(self.OPRFKeys[category], encodePublic(newKey)) {
			t.Fatal("the registry does not announce the new key")
		}
	})
	t.Run("period 1 answered under the old key", func(t *testing.T) {
		if !f.publishedKey(1).Equal(oldKey.Public()) {
			t.Fatal("period 1's catalog record changed key")
		}
		f.hitAndMiss(conn, 1)
		wantCode(t, conn(f.newQueryUnder(newKey, 1, 0, phone).req), codeStale)
	})
	t.Run("second rotation refused while period 1 is current", func(t *testing.T) {
		if err := f.p.CheckRotate(f.ctx, category); !errors.Is(err, ErrRotateTooSoon) {
			t.Fatalf("CheckRotate: %v, want ErrRotateTooSoon", err)
		}
	})

	_, err = f.regulator.Rollover(f.ctx)
	must(t, err)
	f.refresh()
	f.maintain()
	t.Run("period 2 built and published under the new key", func(t *testing.T) {
		if !f.publishedKey(2).Equal(newKey.Public()) {
			t.Fatal("period 2's catalog record does not name the new key")
		}
		f.hitAndMiss(conn, 2)
		wantCode(t, conn(f.newQueryUnder(oldKey, 2, 0, phone).req), codeStale)
	})
	t.Run("no new period 1 request in its grace window", func(t *testing.T) {
		wantCode(t, conn(f.newQueryUnder(oldKey, 1, 0, phone).req), codeStale)
	})
	t.Run("second rotation refused during period 1's grace window", func(t *testing.T) {
		if err := f.p.CheckRotate(f.ctx, category); !errors.Is(err, ErrRotateTooSoon) {
			t.Fatalf("CheckRotate: %v, want ErrRotateTooSoon", err)
		}
	})
	t.Run("answers under both keys billed", func(t *testing.T) {
		f.flush()
		if got := f.p.Outbox().Recorded(); got != 3 {
			t.Fatalf("%d entries recorded, want the 3 answered look-ups", got)
		}
	})

	must(t, f.regulator.ClosePeriod(f.ctx, 1))
	f.refresh()
	t.Run("second rotation allowed once period 1 is closed", func(t *testing.T) {
		must(t, f.p.CheckRotate(f.ctx, category))
	})
}

// A provider restarted after a rotation, with the new key current and the
// old one previous (as node/identity loads them), serves period 1's
// published catalog file under the old key without rebuilding it or
// publishing anything new; one restarted without the old key fails period 1
// clearly instead of publishing a conflicting catalog.
func TestRotateKeySurvivesRestart(t *testing.T) {
	f := newFixture(t, nil)
	f.maintain()
	path := f.p.catalogPath(category, 1)
	before, err := os.Stat(path)
	must(t, err)
	oldKey := f.key
	newKey, err := oprf.GenerateKey(nil)
	must(t, err)
	f.rotate(newKey)

	t.Run("with the previous key", func(t *testing.T) {
		cfg := f.p.cfg
		cfg.Keys = map[string]*oprf.PrivateKey{category: newKey}
		cfg.PreviousKeys = map[string]*oprf.PrivateKey{category: oldKey}
		p, err := New(cfg)
		must(t, err)
		f.p = p
		f.maintain()
		after, err := os.Stat(path)
		must(t, err)
		if !os.SameFile(before, after) {
			t.Fatal("the published catalog file was rebuilt")
		}
		if !f.publishedKey(1).Equal(oldKey.Public()) {
			t.Fatal("period 1's catalog record changed key")
		}
		f.hitAndMiss(f.serveQUIC(t, p), 1)
	})
	t.Run("without the previous key", func(t *testing.T) {
		cfg := f.p.cfg
		cfg.Keys = map[string]*oprf.PrivateKey{category: newKey}
		cfg.PreviousKeys = nil
		p, err := New(cfg)
		must(t, err)
		if failed := p.maintain(f.ctx); !failed {
			t.Fatal("maintain succeeded without the key period 1 was published under")
		}
		st := p.CatalogStatus(category)
		if len(st) != 1 || st[0].GetState() != riskmeshv1.CatalogState_CATALOG_STATE_FAILED || st[0].GetServing() ||
			!bytes.Contains([]byte(st[0].GetError()), []byte(ErrKeyNotHeld.Error())) {
			t.Fatalf("status %v, want period 1 FAILED for a key not held", st)
		}
		if !f.publishedKey(1).Equal(oldKey.Public()) {
			t.Fatal("period 1's catalog record changed key")
		}
	})
}

// A catalog file built under a key that is no longer current and was never
// published (the node stopped between building and publishing, then the key
// was rotated) is rebuilt under the current key and published with it.
func TestUnpublishedCatalogRebuiltUnderCurrentKey(t *testing.T) {
	f := newFixture(t, nil)
	sv, _, err := f.p.build(f.ctx, category, 1, f.p.catalogPath(category, 1), f.key)
	must(t, err)
	sv.close()
	newKey, err := oprf.GenerateKey(nil)
	must(t, err)
	must(t, f.p.RotateKey(f.ctx, category, newKey))
	f.maintain()
	if !f.publishedKey(1).Equal(newKey.Public()) {
		t.Fatal("period 1 was not published under the current key")
	}
	f.hitAndMiss(f.serveQUIC(t, f.p), 1)
}

func TestRotateKeyRefusals(t *testing.T) {
	f := newFixture(t, nil)
	key, err := oprf.GenerateKey(nil)
	must(t, err)
	if err := f.p.RotateKey(f.ctx, "grey", key); !errors.Is(err, ErrUnknownCategory) {
		t.Errorf("RotateKey(grey): %v, want ErrUnknownCategory", err)
	}
	if err := f.p.CheckRotate(f.ctx, "grey"); !errors.Is(err, ErrUnknownCategory) {
		t.Errorf("CheckRotate(grey): %v, want ErrUnknownCategory", err)
	}
	if err := f.p.RotateKey(f.ctx, category, nil); err == nil {
		t.Error("RotateKey accepted a nil key")
	}
	cfg := f.p.cfg
	cfg.PreviousKeys = map[string]*oprf.PrivateKey{"grey": key}
	if _, err := New(cfg); !errors.Is(err, ErrConfig) {
		t.Errorf("New with a previous key for a category not provided: %v, want ErrConfig", err)
	}
}

// Requests, the catalog loop and rotations run at once: every request for
// the published period is answered under the key its catalog was built
// with, whatever the current key is meanwhile.
func TestRotateKeyConcurrentWithRequests(t *testing.T) {
	f := newFixture(t, nil)
	f.maintain()
	const requests, rotations = 20, 5
	queries := make([]*query, requests)
	for i := range queries {
		queries[i] = f.newQuery(1, 0, phone)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- f.p.Run(ctx) }()
	answered := make(chan int, 1)
	go func() {
		n := 0
		for _, q := range queries {
			if f.handle(q.req).GetEvaluate() != nil {
				n++
			}
		}
		answered <- n
	}()
	for range rotations {
		key, err := oprf.GenerateKey(nil)
		must(t, err)
		must(t, f.p.RotateKey(f.ctx, category, key))
	}
	if n := <-answered; n != requests {
		t.Fatalf("%d of %d requests answered during rotations", n, requests)
	}
	cancel()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
}
