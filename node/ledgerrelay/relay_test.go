package ledgerrelay_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/ledgertest"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/node/ledgerrelay"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// network is the regulator's node hosting an embedded ledger behind the
// relay, and the certificates of the four test organisations. The
// transport's Authorizer is a fixed map, as a registry would be: the
// conformance scenario rewrites the fingerprints on the ledger, and the
// relay must not depend on them once connected.
type network struct {
	store  *accounting.EmbeddedStore
	server *peer.Server
	certs  map[string]tls.Certificate
	auth   peer.AuthorizerFunc
}

var orgs = []string{ledgertest.RegulatorMSP, ledgertest.Bank1MSP, ledgertest.Bank2MSP, ledgertest.Bank3MSP}

// newNetwork starts the ledger host; admit is the relay's policy.
func newNetwork(t testing.TB, admit ledgerrelay.Admission) *network {
	t.Helper()
	store, err := accounting.OpenEmbedded(filepath.Join(t.TempDir(), "ledger.db"), accounting.EmbeddedConfig{Regulator: ledgertest.RegulatorMSP})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	n := &network{store: store, certs: map[string]tls.Certificate{}}
	known := map[peer.Fingerprint]string{}
	for _, msp := range orgs {
		c, err := selfsigned.New(msp, nil, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		n.certs[msp] = c
		known[peer.FingerprintOf(c.Certificate[0])] = msp
	}
	n.auth = func(fp [32]byte) (string, error) {
		if msp, ok := known[fp]; ok {
			return msp, nil
		}
		return "", errors.New("not an institution")
	}
	n.server, err = peer.Listen(t.Context(), "127.0.0.1:0", peer.Config{
		Certificate: n.certs[ledgertest.RegulatorMSP],
		Authorizer:  n.auth,
		Handler:     ledgerrelay.NewHandler(store, admit).Route(nil),
		// The conformance scenario makes a few hundred calls in a burst.
		RequestRate: 1e6, RequestBurst: 1e6,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.server.Close() })
	return n
}

// dial connects msp's node to the ledger host.
func (n *network) dial(t testing.TB, msp string) *peer.Client {
	t.Helper()
	c, err := peer.Dial(t.Context(), n.server.Addr().String(), peer.Config{Certificate: n.certs[msp], Authorizer: n.auth})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// relayed returns msp's ledger as its node sees it: through the relay.
func (n *network) relayed(t testing.TB, msp string) accounting.Ledger {
	t.Helper()
	return accounting.NewClient(ledgerrelay.NewInvoker(n.dial(t, msp).Do))
}

// direct returns msp's ledger on the host itself.
func (n *network) direct(t testing.TB, msp string) accounting.Ledger {
	t.Helper()
	l, err := n.store.As(msp)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// onboard registers the banks as the regulator does before their nodes
// connect.
func (n *network) onboard(t testing.TB) {
	t.Helper()
	reg := n.direct(t, ledgertest.RegulatorMSP)
	for _, msp := range orgs[1:] {
		must(t, reg.AddInstitution(t.Context(), msp, "Institution "+msp, []accounting.Role{accounting.RoleProvider, accounting.RoleRequester}))
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantRejected checks err is the contract rejection with code, not an
// unreachable ledger.
func wantRejected(t *testing.T, err error, code chaincode.Code) {
	t.Helper()
	var ae *accounting.Error
	if !errors.As(err, &ae) || ae.Code != code {
		t.Fatalf("got %v, want a contract rejection %s", err, code)
	}
	if !errors.Is(err, accounting.Sentinel(code)) || errors.Is(err, ledgerrelay.ErrUnreachable) {
		t.Fatalf("rejection %v does not classify as %s only", err, code)
	}
}

func signer(t *testing.T) (ecsig.Sign, []byte) {
	t.Helper()
	key, pub, err := ecsig.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ecsig.NewSigner(key, rand.Reader), pub
}

// TestConformanceThroughRelay runs the whole ledger conformance scenario
// with the three banks reaching the ledger only through the relay over real
// QUIC, and the regulator on the host.
func TestConformanceThroughRelay(t *testing.T) {
	n := newNetwork(t, nil)
	id := func(msp string, l accounting.Ledger) ledgertest.Identity {
		sign, pub := signer(t)
		return ledgertest.Identity{MSPID: msp, Ledger: l, Sign: sign, PublicKey: pub}
	}
	ledgertest.Run(t, ledgertest.Harness{
		Regulator: id(ledgertest.RegulatorMSP, n.direct(t, ledgertest.RegulatorMSP)),
		Bank1:     id(ledgertest.Bank1MSP, n.relayed(t, ledgertest.Bank1MSP)),
		Bank2:     id(ledgertest.Bank2MSP, n.relayed(t, ledgertest.Bank2MSP)),
		Bank3:     id(ledgertest.Bank3MSP, n.relayed(t, ledgertest.Bank3MSP)),
	})
}

func TestInstitutionRegistersThroughRelay(t *testing.T) {
	n := newNetwork(t, nil)
	n.onboard(t)
	bank := n.relayed(t, ledgertest.Bank1MSP)
	_, pub := signer(t)
	fp := peer.FingerprintOf(n.certs[ledgertest.Bank1MSP].Certificate[0])
	must(t, bank.UpdateProfile(t.Context(), accounting.Profile{Endpoint: "bank1.example:7443", TLSFingerprint: fp[:], SigningKey: pub}))
	must(t, bank.SetOPRFKey(t.Context(), "phone-black", bytes.Repeat([]byte{5}, 32)))

	got, err := n.direct(t, ledgertest.RegulatorMSP).Institution(t.Context(), ledgertest.Bank1MSP)
	must(t, err)
	if got.Endpoint != "bank1.example:7443" || !bytes.Equal(got.TLSFingerprint, fp[:]) || !bytes.Equal(got.SigningKey, pub) ||
		len(got.OPRFKeys["phone-black"]) != 32 {
		t.Fatalf("registry record after relayed registration: %+v", got)
	}
	// Reads come back through the relay too.
	again, err := bank.Institution(t.Context(), ledgertest.Bank1MSP)
	must(t, err)
	if again.Endpoint != got.Endpoint || !bytes.Equal(again.SigningKey, pub) {
		t.Fatalf("relayed read: %+v", again)
	}
}

func TestRegulatorOnlyCallsRejected(t *testing.T) {
	n := newNetwork(t, nil)
	n.onboard(t)
	bank := n.relayed(t, ledgertest.Bank1MSP)
	wantRejected(t, bank.AddInstitution(t.Context(), "Bank9MSP", "intruder", nil), chaincode.CodeForbidden)
	wantRejected(t, bank.SuspendInstitution(t.Context(), ledgertest.Bank2MSP), chaincode.CodeForbidden)
	wantRejected(t, bank.SetLimit(t.Context(), ledgertest.Bank1MSP, 1<<40), chaincode.CodeForbidden)
	_, err := bank.Rollover(t.Context())
	wantRejected(t, err, chaincode.CodeForbidden)
	_, err = bank.Institution(t.Context(), "NoSuchMSP")
	wantRejected(t, err, chaincode.CodeNotFound)
}

// TestCallerCannotBeSpoofed checks that a relayed call acts as the
// authenticated peer whatever the message says.
func TestCallerCannotBeSpoofed(t *testing.T) {
	n := newNetwork(t, nil)
	n.onboard(t)
	bank1 := n.dial(t, ledgertest.Bank1MSP)
	ledger := accounting.NewClient(ledgerrelay.NewInvoker(bank1.Do))
	reg := n.direct(t, ledgertest.RegulatorMSP)

	t.Run("OwnRecordOnly", func(t *testing.T) {
		must(t, ledger.UpdateProfile(t.Context(), accounting.Profile{Endpoint: "bank1.example:1"}))
		for msp, want := range map[string]string{ledgertest.Bank1MSP: "bank1.example:1", ledgertest.Bank2MSP: ""} {
			got, err := reg.Institution(t.Context(), msp)
			must(t, err)
			if got.Endpoint != want {
				t.Fatalf("%s endpoint %q, want %q", msp, got.Endpoint, want)
			}
		}
	})
	t.Run("NoCallerInArgument", func(t *testing.T) {
		for _, tc := range []struct {
			fn, arg string
			code    chaincode.Code
		}{
			// PublishCatalog's optional mspId may only name the caller.
			{chaincode.FnPublishCatalog, `{"mspId":"Bank2MSP","category":"phone-black","period":1,"digest":"` + strings.Repeat("A", 43) + `=","oprfKey":"` + strings.Repeat("A", 43) + `="}`, chaincode.CodeForbidden},
			{chaincode.FnUpdateProfile, `{"endpoint":"x:1","mspId":"Bank2MSP"}`, chaincode.CodeInvalidArgument},
			{chaincode.FnUpdateProfile, `{"endpoint":"x:1","caller":"RegulatorMSP"}`, chaincode.CodeInvalidArgument},
		} {
			_, err := ledgerrelay.NewInvoker(bank1.Do).Submit(t.Context(), tc.fn, []byte(tc.arg))
			wantRejectedRaw(t, err, tc.code)
		}
		if _, err := reg.Catalog(t.Context(), ledgertest.Bank2MSP, "phone-black", 1); !errors.Is(err, accounting.ErrNotFound) {
			t.Fatalf("a catalog was published for Bank2: %v", err)
		}
		got, err := reg.Institution(t.Context(), ledgertest.Bank2MSP)
		must(t, err)
		if got.Endpoint != "" {
			t.Fatalf("Bank2's record changed: %+v", got)
		}
	})
	t.Run("RegulatorCertificateNeeded", func(t *testing.T) {
		// The same call from the regulator's own certificate is allowed:
		// what decides is the certificate, not the message.
		regRelayed := n.relayed(t, ledgertest.RegulatorMSP)
		must(t, regRelayed.SetLimit(t.Context(), ledgertest.Bank1MSP, 77))
		wantRejected(t, ledger.SetLimit(t.Context(), ledgertest.Bank1MSP, 78), chaincode.CodeForbidden)
		acc, err := reg.Account(t.Context(), ledgertest.Bank1MSP)
		must(t, err)
		if acc.Limit != 77 {
			t.Fatalf("limit %d", acc.Limit)
		}
	})
}

// wantRejectedRaw checks an Invoker error (not mapped by accounting.Client).
func wantRejectedRaw(t *testing.T, err error, code chaincode.Code) {
	t.Helper()
	var ae *accounting.Error
	if !errors.As(err, &ae) || ae.Code != code {
		t.Fatalf("got %v, want a contract rejection %s", err, code)
	}
}

func TestRelayRefusals(t *testing.T) {
	n := newNetwork(t, func(_ context.Context, from peer.Identity) error {
		if from.MSPID == ledgertest.Bank3MSP {
			return ledgerrelay.ErrNotAdmitted
		}
		return nil
	})
	n.onboard(t)
	do := n.dial(t, ledgertest.Bank1MSP).Do
	raw := func(fn string, submit bool, arg []byte) (*riskmeshv1.PeerResponse, error) {
		return do(t.Context(), &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LedgerInvoke{
			LedgerInvoke: &riskmeshv1.LedgerInvoke{Function: fn, Submit: submit, Argument: arg},
		}})
	}
	for _, tc := range []struct {
		name   string
		fn     string
		submit bool
		arg    []byte
	}{
		{"UnknownFunction", "MintTokens", true, []byte(`{}`)},
		{"EmptyFunction", "", false, []byte(`{}`)},
		{"LongFunction", strings.Repeat("F", riskmeshv1.MaxLedgerFunction+1), true, []byte(`{}`)},
		{"OversizedArgument", chaincode.FnRecord, true, bytes.Repeat([]byte(" "), riskmeshv1.MaxLedgerArgument+1)},
		{"QuerySubmitted", chaincode.FnGetPrices, true, []byte(`{}`)},
		{"TransactionEvaluated", chaincode.FnUpdateProfile, false, []byte(`{"endpoint":"x:1"}`)},
		{"TrailingData", chaincode.FnGetPrices, false, []byte(`{} {}`)},
		{"NotJSON", chaincode.FnGetAccount, false, []byte(`mspId=Bank1MSP`)},
		{"UnknownField", chaincode.FnGetAccount, false, []byte(`{"mspId":"Bank1MSP","as":"Bank2MSP"}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := raw(tc.fn, tc.submit, tc.arg)
			var re *peer.RemoteError
			if !errors.As(err, &re) || re.Code != riskmeshv1.ErrorCode_ERROR_CODE_LEDGER_REJECTED {
				t.Fatalf("got %v, want LEDGER_REJECTED", err)
			}
			ae, ok := accounting.ParseError(re.Message)
			if !ok || ae.Code != chaincode.CodeInvalidArgument {
				t.Fatalf("rejection message %q is not the contract's invalid_argument", re.Message)
			}
		})
	}
	t.Run("NotAllowed", func(t *testing.T) {
		_, err := n.relayed(t, ledgertest.Bank3MSP).Prices(t.Context())
		wantRejected(t, err, chaincode.CodeForbidden)
	})
	t.Run("OtherRequestKinds", func(t *testing.T) {
		_, err := do(t.Context(), &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogInfo{
			CatalogInfo: &riskmeshv1.CatalogInfoRequest{Provider: ledgertest.RegulatorMSP, Category: "x", Period: 1},
		}})
		var re *peer.RemoteError
		if !errors.As(err, &re) || re.Code != riskmeshv1.ErrorCode_ERROR_CODE_MALFORMED {
			t.Fatalf("catalog request to the ledger host: %v", err)
		}
	})
}

func TestInvokerBoundsBeforeSending(t *testing.T) {
	sent := 0
	inv := ledgerrelay.NewInvoker(func(context.Context, *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
		sent++
		return nil, errors.New("not reached")
	})
	if _, err := inv.Submit(t.Context(), chaincode.FnRecord, make([]byte, riskmeshv1.MaxLedgerArgument+1)); !errors.Is(err, ledgerrelay.ErrTooLarge) {
		t.Fatalf("oversized argument: %v", err)
	}
	if _, err := inv.Evaluate(t.Context(), strings.Repeat("F", riskmeshv1.MaxLedgerFunction+1), nil); !errors.Is(err, ledgerrelay.ErrTooLarge) {
		t.Fatalf("oversized function name: %v", err)
	}
	if sent != 0 {
		t.Fatalf("%d oversized calls were sent", sent)
	}
}

func TestLedgerUnreachable(t *testing.T) {
	t.Run("LedgerClosed", func(t *testing.T) {
		n := newNetwork(t, nil)
		bank := n.relayed(t, ledgertest.Bank1MSP)
		must(t, n.store.Close())
		_, err := bank.Prices(t.Context())
		var re *peer.RemoteError
		if !errors.Is(err, ledgerrelay.ErrUnreachable) || !errors.As(err, &re) || re.Code != riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE {
			t.Fatalf("closed ledger: %v", err)
		}
		var ae *accounting.Error
		if errors.As(err, &ae) {
			t.Fatalf("closed ledger reported as a contract rejection: %v", err)
		}
	})
	t.Run("HostGone", func(t *testing.T) {
		n := newNetwork(t, nil)
		bank := n.relayed(t, ledgertest.Bank1MSP)
		must(t, n.server.Close())
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := bank.Prices(ctx)
		if !errors.Is(err, ledgerrelay.ErrUnreachable) {
			t.Fatalf("host gone: %v", err)
		}
	})
	t.Run("Deadline", func(t *testing.T) {
		n := newNetwork(t, nil)
		bank := n.relayed(t, ledgertest.Bank1MSP)
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := bank.Prices(ctx)
		if !errors.Is(err, ledgerrelay.ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("expired deadline: %v", err)
		}
	})
}

func TestBadAnswers(t *testing.T) {
	answer := func(resp *riskmeshv1.PeerResponse, err error) *ledgerrelay.Invoker {
		return ledgerrelay.NewInvoker(func(context.Context, *riskmeshv1.PeerRequest) (*riskmeshv1.PeerResponse, error) {
			return resp, err
		})
	}
	for _, tc := range []struct {
		name string
		inv  *ledgerrelay.Invoker
	}{
		{"WrongBody", answer(&riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_EcdhDone{EcdhDone: &riskmeshv1.ECDHDone{}}}, nil)},
		{"RejectionWithoutCode", answer(nil, &peer.RemoteError{Code: riskmeshv1.ErrorCode_ERROR_CODE_LEDGER_REJECTED, Message: "no"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.inv.Evaluate(t.Context(), chaincode.FnGetPrices, []byte(`{}`))
			if !errors.Is(err, ledgerrelay.ErrBadAnswer) {
				t.Fatalf("got %v, want ErrBadAnswer", err)
			}
		})
	}
}

// TestFullRecordBatchFits checks the relay's argument bound admits the
// largest Record batch the contract accepts: chaincode.MaxBatch entries
// with maximal headers, signatures and amounts.
func TestFullRecordBatchFits(t *testing.T) {
	entry := accounting.Entry{
		Header:             bytes.Repeat([]byte{0xff}, transcript.MaxHeaderSize),
		RequestHash:        make([]byte, sha256.Size),
		ResponseHash:       make([]byte, sha256.Size),
		RequesterSignature: bytes.Repeat([]byte{0xff}, ecsig.MaxSignatureSize),
		ResponderSignature: bytes.Repeat([]byte{0xff}, ecsig.MaxSignatureSize),
		Amount:             math.MinInt64,
	}
	batch := make([]accounting.Entry, chaincode.MaxBatch)
	for i := range batch {
		batch[i] = entry
	}
	arg, err := json.Marshal(batch)
	must(t, err)
	if len(arg) > riskmeshv1.MaxLedgerArgument {
		t.Fatalf("a full Record batch is %d bytes, over the relay's %d", len(arg), riskmeshv1.MaxLedgerArgument)
	}
	t.Logf("a full Record batch is %d bytes of JSON", len(arg))
}

// TestConnRedialsAfterHostRestart checks that a node's Conn survives the
// ledger host going away and coming back. The new host listens on a fresh
// port: peer.Server.Close releases its UDP socket asynchronously, and the
// test must not wait for it.
func TestConnRedialsAfterHostRestart(t *testing.T) {
	n := newNetwork(t, nil)
	n.onboard(t)
	var mu sync.Mutex
	addr, dials := n.server.Addr().String(), 0
	conn := ledgerrelay.NewConn(func(ctx context.Context) (*peer.Client, error) {
		mu.Lock()
		a := addr
		dials++
		mu.Unlock()
		return peer.Dial(ctx, a, peer.Config{Certificate: n.certs[ledgertest.Bank1MSP], Authorizer: n.auth})
	})
	defer conn.Close()
	bank := accounting.NewClient(ledgerrelay.NewInvoker(conn.Do))
	wantDials := func(want int) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if dials != want {
			t.Fatalf("%d dials, want %d", dials, want)
		}
	}

	_, err := bank.Prices(t.Context())
	must(t, err)
	_, err = bank.Account(t.Context(), "NoSuchMSP") // a rejection keeps the connection
	wantRejected(t, err, chaincode.CodeNotFound)
	wantDials(1)
	// After the node's certificate changed it redials on request.
	conn.Redial()
	_, err = bank.Prices(t.Context())
	must(t, err)
	wantDials(2)

	must(t, n.server.Close())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := bank.Prices(ctx); !errors.Is(err, ledgerrelay.ErrUnreachable) {
		t.Fatalf("host down: %v", err)
	}
	srv, err := peer.Listen(t.Context(), "127.0.0.1:0", peer.Config{
		Certificate: n.certs[ledgertest.RegulatorMSP], Authorizer: n.auth,
		Handler: ledgerrelay.NewHandler(n.store, nil).Route(nil),
	})
	must(t, err)
	defer srv.Close()
	mu.Lock()
	addr = srv.Addr().String()
	mu.Unlock()
	if _, err := bank.Prices(t.Context()); err != nil {
		t.Fatalf("after the host came back: %v", err)
	}
	wantDials(3)

	must(t, conn.Close())
	if _, err := bank.Prices(t.Context()); !errors.Is(err, ledgerrelay.ErrConnClosed) || !errors.Is(err, ledgerrelay.ErrUnreachable) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestConnConcurrentCallsShareOneDial(t *testing.T) {
	n := newNetwork(t, nil)
	var mu sync.Mutex
	dials := 0
	conn := ledgerrelay.NewConn(func(ctx context.Context) (*peer.Client, error) {
		mu.Lock()
		dials++
		mu.Unlock()
		return peer.Dial(ctx, n.server.Addr().String(), peer.Config{Certificate: n.certs[ledgertest.Bank2MSP], Authorizer: n.auth})
	})
	defer conn.Close()
	bank := accounting.NewClient(ledgerrelay.NewInvoker(conn.Do))
	var wg sync.WaitGroup
	errs := make(chan error, 8*10)
	for range 8 {
		wg.Go(func() {
			for range 10 {
				_, err := bank.Prices(t.Context())
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	if dials != 1 {
		t.Fatalf("%d dials for concurrent calls", dials)
	}
}
