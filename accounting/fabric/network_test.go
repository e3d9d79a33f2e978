package fabric_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/fabric"
	"github.com/riskmesh/riskmesh/accounting/ledgertest"
	deployfabric "github.com/riskmesh/riskmesh/deploy/fabric"
	"github.com/riskmesh/riskmesh/internal/ecsig"
)

// The integration tests and benchmarks run against a real Fabric network
// only when RISKMESH_FABRIC=1 (make test-fabric): bring-up builds Fabric on
// a clean machine, which is too slow for every `go test ./...`.
const (
	gateEnv     = "RISKMESH_FABRIC"
	basePortEnv = "RISKMESH_FABRIC_BASEPORT"
	keepEnv     = "RISKMESH_FABRIC_KEEP" // keep the data dir (logs) even on success
	// chaincodeEnvEnv adds space-separated NAME=value pairs to the chaincode
	// server's environment (e.g. GOGC=400), to measure a runtime setting
	// without changing the network's defaults.
	chaincodeEnvEnv = "RISKMESH_FABRIC_CHAINCODE_ENV"
)

// network is the one network of this test binary, started by TestMain; nil
// when the gate is off.
var network *deployfabric.Network

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

// runTests brings the network up around m.Run and always stops it: on
// return here, and, through the parent-death signal that deploy/fabric sets with
// KillWithParent, when the binary dies of a panic, a -timeout or a signal.
func runTests(m *testing.M) int {
	if os.Getenv(gateEnv) != "1" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "riskmesh-fabric-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fabric network:", err)
		return 1
	}
	base := 0
	if s := os.Getenv(basePortEnv); s != "" {
		if base, err = strconv.Atoi(s); err != nil {
			fmt.Fprintf(os.Stderr, "fabric network: %s: %v\n", basePortEnv, err)
			return 1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	n, err := deployfabric.Up(ctx, deployfabric.Config{
		DataDir:        dir,
		BasePort:       base,
		KillWithParent: true,
		Chaincode:      deployfabric.ChaincodeConfig{Env: strings.Fields(os.Getenv(chaincodeEnvEnv))},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "fabric network: %v\n(logs in %s)\n", err, dir)
		return 1
	}
	network = n
	fmt.Fprintf(os.Stderr, "fabric network up in %s (processes started to chaincode committed: %s), base port %d\n",
		time.Since(start).Round(time.Millisecond), n.Info().BringUp.Round(time.Millisecond), n.Info().BasePort)
	code := m.Run()
	if err := n.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "fabric network: stop:", err)
		code = 1
	}
	if code == 0 && os.Getenv(keepEnv) == "" {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "fabric network data and logs kept in %s\n", dir)
	}
	return code
}

// requireNetwork skips the test unless the network is up.
func requireNetwork(tb testing.TB) *deployfabric.Network {
	tb.Helper()
	if network == nil {
		tb.Skipf("set %s=1 to run against a real Fabric network (make test-fabric)", gateEnv)
	}
	return network
}

// newClient connects to the network as the User1 identity of mspID.
func newClient(tb testing.TB, mspID string, cfg fabric.Config) *fabric.Client {
	tb.Helper()
	return newClientVia(tb, mspID, mspID, cfg)
}

// newClientVia is newClient through the gateway peer of organisation via.
func newClientVia(tb testing.TB, mspID, via string, cfg fabric.Config) *fabric.Client {
	tb.Helper()
	cr, err := requireNetwork(tb).Info().Credentials(mspID, via)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.MSPID, cfg.PeerAddress, cfg.TLSRootCert = cr.MSPID, cr.PeerAddress, cr.TLSRootCert
	cfg.Certificate, cfg.PrivateKey = cr.Certificate, cr.PrivateKey
	c, err := fabric.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// transcriptKey is an institution's transcript-signing key (not its Fabric
// identity: the two are separate keys, as in production).
type transcriptKey struct {
	sign ecsig.Sign
	pub  []byte
}

func newTranscriptKey(tb testing.TB) transcriptKey {
	tb.Helper()
	key, pub, err := ecsig.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return transcriptKey{sign: ecsig.NewSigner(key, rand.Reader), pub: pub}
}

// identity is mspID's client through the regulator's gateway peer.
func identity(tb testing.TB, mspID string) ledgertest.Identity {
	tb.Helper()
	k := newTranscriptKey(tb)
	return ledgertest.Identity{MSPID: mspID, Ledger: newClientVia(tb, mspID, ledgertest.RegulatorMSP, fabric.Config{}),
		Sign: k.sign, PublicKey: k.pub}
}

// TestConformance runs the suite with every organisation's client going
// through one gateway peer: a submit returns once that peer has committed
// it, so each later read sees it, as the suite expects. Through each
// organisation's own peer a read could run ahead of that peer's copy of
// the block (CI saw it), which is Fabric's normal lag between peers, not a
// contract property; the node tests (node/nodetest) use each
// organisation's own gateway.
func TestConformance(t *testing.T) {
	requireNetwork(t)
	ledgertest.Run(t, ledgertest.Harness{
		Regulator: identity(t, ledgertest.RegulatorMSP),
		Bank1:     identity(t, ledgertest.Bank1MSP),
		Bank2:     identity(t, ledgertest.Bank2MSP),
		Bank3:     identity(t, ledgertest.Bank3MSP),
	})
}

func TestRejectionIsTypedAndCarriesTxID(t *testing.T) {
	c := newClient(t, ledgertest.Bank1MSP, fabric.Config{})
	// Only the regulator may roll the period over; the attempt changes
	// nothing, so it does not disturb the conformance scenario.
	_, err := c.Rollover(context.Background())
	if !errors.Is(err, accounting.ErrForbidden) {
		t.Fatalf("Rollover as a bank: %v, want ErrForbidden", err)
	}
	var ae *accounting.Error
	var te *fabric.TxError
	if !errors.As(err, &ae) || !errors.As(err, &te) {
		t.Fatalf("%v: want *accounting.Error and *fabric.TxError in the chain", err)
	}
	if ae.TxID == "" || ae.TxID != te.TxID || te.Phase != fabric.PhaseEndorse || te.Attempts != 1 {
		t.Fatalf("accounting.Error tx %q, TxError %+v: want the same tx id, endorse phase, one attempt", ae.TxID, te)
	}
}
