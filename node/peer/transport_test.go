package peer

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// newCert returns a self-signed certificate for name, the kind a node
// presents (internal/selfsigned).
func newCert(t testing.TB, name string) tls.Certificate {
	t.Helper()
	cert, err := selfsigned.New(name, nil, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// registry is an in-memory Authorizer: fingerprint to MSP id.
type registry struct {
	mu     sync.Mutex
	active map[Fingerprint]string
}

func newRegistry(certs map[string]tls.Certificate) *registry {
	r := &registry{active: make(map[Fingerprint]string)}
	for msp, c := range certs {
		r.active[FingerprintOf(c.Certificate[0])] = msp
	}
	return r
}

func (r *registry) Authorize(fp [32]byte) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	msp, ok := r.active[fp]
	if !ok {
		return "", errors.New("not an active institution")
	}
	return msp, nil
}

func (r *registry) suspend(fp Fingerprint) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.active, fp)
}

// echoHandler answers a catalog info request with the caller's MSP id as
// the provider, so tests see which identity the server authenticated.
func echoHandler(_ context.Context, peer Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_CatalogInfo{CatalogInfo: &riskmeshv1.CatalogInfo{
		Provider: peer.MSPID, Category: req.GetCatalogInfo().GetCategory(), Period: req.GetCatalogInfo().GetPeriod(),
	}}}
}

type fixture struct {
	server     *Server
	serverCert tls.Certificate
	clientCert tls.Certificate
	reg        *registry
}

// newFixture starts a server on 127.0.0.1 for institution "provider" that
// knows institution "requester"; mod adjusts the server config.
func newFixture(t *testing.T, h Handler, mod func(*Config)) *fixture {
	t.Helper()
	f := &fixture{serverCert: newCert(t, "provider"), clientCert: newCert(t, "requester")}
	f.reg = newRegistry(map[string]tls.Certificate{"provider": f.serverCert, "requester": f.clientCert})
	cfg := Config{Certificate: f.serverCert, Authorizer: f.reg, Handler: h}
	if mod != nil {
		mod(&cfg)
	}
	s, err := Listen(t.Context(), "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	f.server = s
	return f
}

func (f *fixture) dial(t *testing.T, cert tls.Certificate) (*Client, error) {
	t.Helper()
	c, err := Dial(t.Context(), f.server.Addr().String(), Config{Certificate: cert, Authorizer: f.reg})
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, err
}

// askInfo sends c a catalog-info request and fails t unless it is
// answered within 5 s.
func askInfo(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := c.Do(ctx, infoRequest()); err != nil {
		t.Fatal(err)
	}
}

func infoRequest() *riskmeshv1.PeerRequest {
	return &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogInfo{
		CatalogInfo: &riskmeshv1.CatalogInfoRequest{Provider: "provider", Category: "fraud", Period: 3},
	}}
}

func wantRemote(t *testing.T, err error, code riskmeshv1.ErrorCode) *RemoteError {
	t.Helper()
	var re *RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a RemoteError %s", err, code)
	}
	if re.Code != code {
		t.Fatalf("got code %s (%s), want %s", re.Code, re.Message, code)
	}
	return re
}

func TestKnownPeerGetsAnswer(t *testing.T) {
	f := newFixture(t, echoHandler, nil)
	c, err := f.dial(t, f.clientCert)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Peer(); got.MSPID != "provider" || got.Fingerprint != FingerprintOf(f.serverCert.Certificate[0]) {
		t.Fatalf("client authenticated %+v, want the provider", got)
	}
	var wg sync.WaitGroup
	for i := range 8 { // concurrent requests, one stream each
		wg.Go(func() {
			req := infoRequest()
			req.GetCatalogInfo().Period = uint64(i)
			resp, err := c.Do(t.Context(), req)
			if err != nil {
				t.Error(err)
				return
			}
			info := resp.GetCatalogInfo()
			if info.GetProvider() != "requester" || info.GetPeriod() != uint64(i) {
				t.Errorf("response %v, want the server to see requester and period %d", info, i)
			}
		})
	}
	wg.Wait()
}

func TestUnknownPeerRefusedInHandshake(t *testing.T) {
	handled := make(chan struct{}, 1)
	f := newFixture(t, func(ctx context.Context, p Identity, r *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		handled <- struct{}{}
		return echoHandler(ctx, p, r)
	}, nil)

	t.Run("unknown client", func(t *testing.T) {
		c, err := f.dial(t, newCert(t, "stranger"))
		if err == nil {
			// The client finishes its side of the TLS 1.3 handshake before
			// the server checks its certificate: the refusal arrives next.
			_, err = c.Do(t.Context(), infoRequest())
		}
		wantRemote(t, err, riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_PEER)
	})
	t.Run("unknown server", func(t *testing.T) {
		other := newRegistry(map[string]tls.Certificate{"requester": f.clientCert}) // provider not in it
		_, err := Dial(t.Context(), f.server.Addr().String(), Config{Certificate: f.clientCert, Authorizer: other})
		if !errors.Is(err, ErrUnknownPeer) {
			t.Fatalf("got %v, want ErrUnknownPeer", err)
		}
	})
	select {
	case <-handled:
		t.Fatal("the handler ran for an unknown peer")
	default:
	}
}

func TestOversizedFrameRefused(t *testing.T) {
	f := newFixture(t, echoHandler, func(c *Config) { c.MaxRequestSize = 64 })
	c, err := f.dial(t, f.clientCert)
	if err != nil {
		t.Fatal(err)
	}
	req := infoRequest()
	req.GetCatalogInfo().Category = string(make([]byte, 100))
	_, err = c.Do(t.Context(), req)
	re := wantRemote(t, err, riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED)
	if want := fmt.Sprintf("exceeds the limit of %d", 64); !strings.Contains(re.Message, want) {
		t.Fatalf("message %q does not say %q", re.Message, want)
	}

	t.Run("announced length only", func(t *testing.T) {
		// A raw stream announcing 2^32-1 bytes: refused on the header alone.
		str, err := c.conn.OpenStreamSync(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := str.Write(binary.BigEndian.AppendUint32(nil, 1<<32-1)); err != nil {
			t.Fatal(err)
		}
		resp := new(riskmeshv1.PeerResponse)
		if err := ReadFrame(str, resp, riskmeshv1.MaxPeerErrorSize); err != nil {
			t.Fatal(err)
		}
		if got := resp.GetError().GetCode(); got != riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED {
			t.Fatalf("got %v, want MALFORMED", resp)
		}
	})
}

func TestRevokedPeerCutOff(t *testing.T) {
	f := newFixture(t, echoHandler, nil)
	c, err := f.dial(t, f.clientCert)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(t.Context(), infoRequest()); err != nil {
		t.Fatal(err)
	}
	if n := f.server.Connections(); n != 1 {
		t.Fatalf("Connections %d before Revoke, want 1", n)
	}
	fp := FingerprintOf(f.clientCert.Certificate[0])
	f.reg.suspend(fp)
	if n := f.server.Revoke(fp); n != 1 {
		t.Fatalf("Revoke closed %d connections, want 1", n)
	}
	if n := f.server.Connections(); n != 0 {
		t.Fatalf("Connections %d after Revoke, want 0", n)
	}
	_, err = c.Do(t.Context(), infoRequest())
	wantRemote(t, err, riskmeshv1.ErrorCode_ERROR_CODE_SUSPENDED)

	c2, err := f.dial(t, f.clientCert)
	if err == nil {
		_, err = c2.Do(t.Context(), infoRequest())
	}
	wantRemote(t, err, riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_PEER)
}

func TestRateLimited(t *testing.T) {
	f := newFixture(t, echoHandler, func(c *Config) {
		c.RequestRate = 1.0 / 3600 // one token an hour: the second request is over
		c.RequestBurst = 1
	})
	c, err := f.dial(t, f.clientCert)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(t.Context(), infoRequest()); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(t.Context(), infoRequest())
	re := wantRemote(t, err, riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED)
	if re.RetryAfter <= 0 || resp.GetError().GetRetryAfterMs() == 0 {
		t.Fatalf("RATE_LIMITED without retry_after_ms: %v", resp)
	}
}

func TestTooManyConnections(t *testing.T) {
	f := newFixture(t, echoHandler, func(c *Config) { c.MaxConnsPerPeer = 1 })
	first, err := f.dial(t, f.clientCert)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Do(t.Context(), infoRequest()); err != nil {
		t.Fatal(err)
	}
	second, err := f.dial(t, f.clientCert)
	if err == nil {
		_, err = second.Do(t.Context(), infoRequest())
	}
	wantRemote(t, err, riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED)
}

func TestDeadlines(t *testing.T) {
	release := make(chan struct{})
	f := newFixture(t, func(ctx context.Context, p Identity, r *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		if r.GetCatalogInfo().GetCategory() == "slow" {
			select {
			case <-ctx.Done():
				return nil
			case <-release:
			}
		}
		return echoHandler(ctx, p, r)
	}, func(c *Config) { c.HandleTimeout = 200 * time.Millisecond })
	defer close(release)
	c, err := f.dial(t, f.clientCert)
	if err != nil {
		t.Fatal(err)
	}
	slow := infoRequest()
	slow.GetCatalogInfo().Category = "slow"

	t.Run("requester deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if _, err := c.Do(ctx, slow); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("handler deadline", func(t *testing.T) {
		_, err := c.Do(t.Context(), slow)
		wantRemote(t, err, riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE)
	})
	t.Run("dial deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Nanosecond)
		defer cancel()
		<-ctx.Done()
		_, err := Dial(ctx, f.server.Addr().String(), Config{Certificate: f.clientCert, Authorizer: f.reg})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("connection still usable", func(t *testing.T) {
		if _, err := c.Do(t.Context(), infoRequest()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestConfigRequired(t *testing.T) {
	cert := newCert(t, "x")
	reg := newRegistry(nil)
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"no certificate", Config{Authorizer: reg, Handler: echoHandler}, ErrNoCertificate},
		{"no authorizer", Config{Certificate: cert, Handler: echoHandler}, ErrNoAuthorizer},
		{"no handler", Config{Certificate: cert, Authorizer: reg}, ErrNoHandler},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Listen(t.Context(), "127.0.0.1:0", tt.cfg)
			if err == nil {
				_ = s.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestServerReadDeadline(t *testing.T) {
	f := newFixture(t, echoHandler, func(c *Config) { c.ReadTimeout = 100 * time.Millisecond })
	c, err := f.dial(t, f.clientCert)
	if err != nil {
		t.Fatal(err)
	}
	// A requester that announces a frame and never sends it.
	str, err := c.conn.OpenStreamSync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := str.Write(binary.BigEndian.AppendUint32(nil, 100)); err != nil {
		t.Fatal(err)
	}
	resp := new(riskmeshv1.PeerResponse)
	if err := ReadFrame(str, resp, riskmeshv1.MaxPeerErrorSize); err != nil {
		t.Fatal(err)
	}
	if got := resp.GetError().GetCode(); got != riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE {
		t.Fatalf("got %v, want UNAVAILABLE", resp)
	}
}

// TestStreamLimit checks that a connection has at most MaxStreams requests
// served at once, also before its first answer, when the one stream credit
// more that QUIC grants (heldCredit) lets the requester open a second stream.
func TestStreamLimit(t *testing.T) {
	var serving, most atomic.Int32
	entered := make(chan struct{}, 2)
	release := make(chan struct{})
	f := newFixture(t, func(ctx context.Context, p Identity, r *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		n := serving.Add(1)
		defer serving.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		entered <- struct{}{}
		<-release
		return echoHandler(ctx, p, r)
	}, func(c *Config) { c.MaxStreams = 1 })
	c, err := f.dial(t, f.clientCert)
	if err != nil {
		t.Fatal(err)
	}
	do := func() <-chan error {
		done := make(chan error, 1)
		go func() {
			_, err := c.Do(t.Context(), infoRequest())
			done <- err
		}()
		return done
	}
	first := do()
	<-entered
	second := do()
	select {
	case <-entered:
		t.Fatal("a second request was served while the first was")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	for _, done := range []<-chan error{first, second} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if m := most.Load(); m != 1 {
		t.Fatalf("%d requests served at once, want at most MaxStreams = 1", m)
	}
}

// TestStreamsReleased checks that finished streams return their credit:
// many more sequential requests than MaxStreams all complete, also with
// MaxStreams 1, where the one credit kept back (heldCredit) is the one QUIC
// grants beyond MaxStreams.
func TestStreamsReleased(t *testing.T) {
	f := newFixture(t, func(_ context.Context, _ Identity, r *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Evaluate{Evaluate: &riskmeshv1.EvaluateResponse{
			Evaluated: r.GetEvaluate().GetBlinded(),
		}}}
	}, func(c *Config) { c.MaxStreams = 1 })
	c, err := f.dial(t, f.clientCert)
	if err != nil {
		t.Fatal(err)
	}
	req := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_Evaluate{Evaluate: &riskmeshv1.EvaluateRequest{
		Header: make([]byte, 100), Blinded: make([]byte, 32*1000),
	}}}
	for i := range 20 {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		_, err := c.Do(ctx, req)
		cancel()
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
}

// TestSequentialRequestsStartNoGoroutines checks that requests sent one
// after another on a connection are each answered by the goroutine that
// accepted its stream (connServer): across them the process starts next to
// no goroutines, where one per request would be started otherwise.
func TestSequentialRequestsStartNoGoroutines(t *testing.T) {
	f := newFixture(t, echoHandler, nil)
	c, err := f.dial(t, f.clientCert)
	if err != nil {
		t.Fatal(err)
	}
	askInfo(t, c) // the connection's second acceptor starts with its first stream
	const n = 50
	before := goroutinesCreated()
	for range n {
		askInfo(t, c)
	}
	if started := goroutinesCreated() - before; started >= n/2 {
		t.Fatalf("%d goroutines started over %d sequential requests", started, n)
	}
}

// TestConcurrentRequestsAllAccepted checks that requests arriving together
// on one connection are all accepted while the first are still being
// handled: each handler waits until all have reached their handlers, which
// happens only if the goroutine answering a stream has handed the waiting
// for the next to another (connServer) and no stream is left unaccepted.
func TestConcurrentRequestsAllAccepted(t *testing.T) {
	const n = 8
	var arrived sync.WaitGroup
	arrived.Add(n)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	f := newFixture(t, func(ctx context.Context, peer Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		if req.GetEvaluate() != nil {
			arrived.Done()
			select {
			case <-all:
			case <-ctx.Done():
			}
		}
		return echoHandler(ctx, peer, req)
	}, nil)
	c, err := f.dial(t, f.clientCert)
	if err != nil {
		t.Fatal(err)
	}
	// Requests one after another first: whatever waits for streams
	// between requests is waiting when the n arrive.
	for range 3 {
		askInfo(t, c)
	}
	req := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_Evaluate{Evaluate: &riskmeshv1.EvaluateRequest{Blinded: make([]byte, 32)}}}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := c.Do(ctx, req)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("a request of %d sent together: %v", n, err)
		}
	}
}

// goroutinesCreated is the number of goroutines the process has started.
func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestServerCloseTellsPeers checks that a closing server's peers learn it
// from the connection close (UNAVAILABLE) and not from their idle timeout:
// the close frames must leave before the listener's socket closes.
func TestServerCloseTellsPeers(t *testing.T) {
	f := newFixture(t, echoHandler, nil)
	c, err := f.dial(t, f.clientCert)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(t.Context(), infoRequest()); err != nil {
		t.Fatal(err)
	}
	if err := f.server.Close(); err != nil {
		t.Fatal(err)
	}
	// Far below the 60 s idle timeout: without the close frame the call
	// would run into this deadline instead.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = c.Do(ctx, infoRequest())
	wantRemote(t, err, riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE)
}

// TestRotatedCertificate: with GetCertificate, a server presents a rotated
// certificate on new connections and a client authenticates with its
// rotated one, while a connection made before the rotation carries on.
func TestRotatedCertificate(t *testing.T) {
	var current atomic.Pointer[tls.Certificate]
	f := newFixture(t, echoHandler, func(c *Config) {
		first := c.Certificate
		current.Store(&first)
		c.Certificate, c.GetCertificate = tls.Certificate{}, current.Load
	})
	before, err := f.dial(t, f.clientCert)
	if err != nil {
		t.Fatal(err)
	}
	rotated := newCert(t, "provider")
	f.reg.mu.Lock()
	f.reg.active[FingerprintOf(rotated.Certificate[0])] = "provider"
	f.reg.mu.Unlock()
	current.Store(&rotated)
	f.reg.suspend(FingerprintOf(f.serverCert.Certificate[0]))

	after, err := f.dial(t, f.clientCert)
	if err != nil {
		t.Fatalf("dial after the server's rotation: %v", err)
	}
	if got := after.Peer().Fingerprint; got != FingerprintOf(rotated.Certificate[0]) {
		t.Fatalf("server presented %s after rotation", got)
	}
	if _, err := before.Do(t.Context(), infoRequest()); err != nil {
		t.Fatalf("connection made before the rotation: %v", err)
	}

	// A client rotates too: the server sees the same institution.
	clientRotated := newCert(t, "requester")
	f.reg.mu.Lock()
	f.reg.active[FingerprintOf(clientRotated.Certificate[0])] = "requester"
	f.reg.mu.Unlock()
	c, err := Dial(t.Context(), f.server.Addr().String(), Config{GetCertificate: func() *tls.Certificate { return &clientRotated }, Authorizer: f.reg})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Do(t.Context(), infoRequest())
	if err != nil || resp.GetCatalogInfo().GetProvider() != "requester" {
		t.Fatalf("rotated client: %v, %v", resp, err)
	}
}
