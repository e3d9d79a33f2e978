package provider

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/largevalue"
	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// childEnv names the directory a re-executed test binary runs a provider
// node from (see runChild).
const childEnv = "RISKMESH_PROVIDER_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		if err := runChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Files the parent writes for the child.
const (
	fileLedger     = "ledger.db"
	fileNode       = "node.db"
	fileTLSCert    = "provider-tls.pem"
	fileTLSKey     = "provider-tls-key.pem"
	fileSigningKey = "provider-signing.der"
	fileOPRFKey    = "provider-oprf.key"
	fileList       = "black.csv"
	// crashPassphrase is the KEK of the sealed runs' keyring, whose file
	// in the directory turns sealing on for the child.
	crashPassphrase = "crash test"
)

// runChild is a provider node: the embedded ledger file, the registry, the
// provider with its outbox submitter and a QUIC listener whose address it
// prints as "ADDR <addr>". When its stdin closes it drains the outbox,
// prints "DRAINED <dead entries>" and exits; otherwise it runs until killed.
func runChild(dir string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, err := accounting.OpenEmbedded(filepath.Join(dir, fileLedger), accounting.EmbeddedConfig{})
	if err != nil {
		return err
	}
	defer store.Close()
	ledger, err := store.As(providerMSP)
	if err != nil {
		return err
	}
	reg := registry.New(ledger, registry.Options{})
	if err := reg.Refresh(ctx); err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, fileTLSCert), filepath.Join(dir, fileTLSKey))
	if err != nil {
		return err
	}
	der, err := os.ReadFile(filepath.Join(dir, fileSigningKey))
	if err != nil {
		return err
	}
	sk, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(dir, fileOPRFKey))
	if err != nil {
		return err
	}
	key := new(oprf.PrivateKey)
	if err := key.UnmarshalBinary(raw); err != nil {
		return err
	}
	src, err := lists.NewDelimited(lists.File(filepath.Join(dir, fileList)), lists.DelimitedConfig{
		Mapping: lists.Mapping{ID: "phone", FixedType: "phone", Category: "cat", Reason: "reason", Listed: "listed"}})
	if err != nil {
		return err
	}
	var ring *seal.Keyring
	if _, err := os.Stat(filepath.Join(dir, seal.KeyringFile)); err == nil {
		if ring, err = seal.Open(filepath.Join(dir, seal.KeyringFile), seal.PassphraseKEK(crashPassphrase)); err != nil {
			return err
		}
	}
	db, err := bolt.Open(filepath.Join(dir, fileNode), 0o600, &bolt.Options{Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := New(Config{
		Seal:  ring,
		MSPID: providerMSP, Ledger: ledger, Directory: reg,
		Keys: map[string]*oprf.PrivateKey{category: key},
		Sign: ecsig.NewSigner(sk.(*ecdsa.PrivateKey), rand.Reader),
		DB:   db, DataDir: filepath.Join(dir, "data"),
		Sources: []Source{{Name: "black", Category: category, Code: 1, Source: src}},
	})
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.Run(ctx)
	}()
	srv, err := peer.Listen(ctx, "127.0.0.1:0", peer.Config{Certificate: cert, Authorizer: reg, Handler: p.Handle})
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Printf("ADDR %s\n", srv.Addr())
	io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
	fctx, fcancel := context.WithTimeout(ctx, 30*time.Second)
	defer fcancel()
	if err := p.Outbox().Flush(fctx); err != nil {
		return err
	}
	fmt.Printf("DRAINED %d\n", p.Outbox().DeadCount())
	cancel()
	wg.Wait()
	return nil
}

// child is one run of the provider process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	addr  string
}

func startChild(t *testing.T, dir string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	c := &child{cmd: cmd, stdin: stdin, lines: make(chan string, 4)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	line := c.expect(t, "ADDR ")
	c.addr = strings.TrimPrefix(line, "ADDR ")
	return c
}

// expect waits for the child's next line, which must start with prefix.
func (c *child) expect(t *testing.T, prefix string) string {
	t.Helper()
	select {
	case line, ok := <-c.lines:
		if !ok || !strings.HasPrefix(line, prefix) {
			t.Fatalf("child said %q (open %v), want %q...", line, ok, prefix)
		}
		return line
	case <-time.After(60 * time.Second):
		t.Fatalf("child did not say %q", prefix)
		return ""
	}
}

func (c *child) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}

// TestExactlyOnceAcrossKill9 kills the provider process with SIGKILL at
// random points while a requester sends signed batches, restarts it, and
// retries every unanswered request with the same sequence number and
// bytes. After the last run drains its outbox, the ledger must hold exactly
// one entry per request, each billing its batch once, and nothing else:
// with node.db in plain and with it sealed (docs/operations.md, "Sealing
// node.db"), where every stored answer must then open only sealed.
func TestExactlyOnceAcrossKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts provider processes")
	}
	t.Run("plain", func(t *testing.T) { exactlyOnceAcrossKill9(t, false) })
	t.Run("sealed", func(t *testing.T) { exactlyOnceAcrossKill9(t, true) })
}

func exactlyOnceAcrossKill9(t *testing.T, sealed bool) {
	const (
		requests  = 40
		batch     = 5
		killRuns  = 8
		maxPerRun = 8
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := mrand.New(mrand.NewPCG(seed, seed))
	dir := t.TempDir()
	ctx := context.Background()
	var ring *seal.Keyring
	if sealed {
		var err error
		ring, err = seal.Create(filepath.Join(dir, seal.KeyringFile), seal.PassphraseKEK(crashPassphrase), nil)
		must(t, err)
	}

	// The consortium, on the embedded ledger file the child will open.
	store, err := accounting.OpenEmbedded(filepath.Join(dir, fileLedger), accounting.EmbeddedConfig{})
	must(t, err)
	reg, err := store.As(accounting.DefaultRegulator)
	must(t, err)
	must(t, reg.AddInstitution(ctx, providerMSP, "Provider", []accounting.Role{accounting.RoleProvider}))
	must(t, reg.AddInstitution(ctx, requesterMSP, "Requester", []accounting.Role{accounting.RoleRequester}))
	provTLS, err := selfsigned.New(providerMSP, nil, nil, time.Now())
	must(t, err)
	reqTLS, err := selfsigned.New(requesterMSP, nil, nil, time.Now())
	must(t, err)
	certPEM, keyPEM, err := selfsigned.PEM(provTLS)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, fileTLSCert), certPEM, 0o600))
	must(t, os.WriteFile(filepath.Join(dir, fileTLSKey), keyPEM, 0o600))
	var reqSign ecsig.Sign
	for _, party := range []struct {
		msp  string
		cert tls.Certificate
	}{{providerMSP, provTLS}, {requesterMSP, reqTLS}} {
		sk, pub, err := ecsig.GenerateKey(rand.Reader)
		must(t, err)
		fp := peer.FingerprintOf(party.cert.Certificate[0])
		l, err := store.As(party.msp)
		must(t, err)
		must(t, l.UpdateProfile(ctx, accounting.Profile{SigningKey: pub, TLSFingerprint: fp[:], Endpoint: "127.0.0.1:1"}))
		if party.msp == providerMSP {
			der, err := x509.MarshalPKCS8PrivateKey(sk)
			must(t, err)
			must(t, os.WriteFile(filepath.Join(dir, fileSigningKey), der, 0o600))
		} else {
			reqSign = ecsig.NewSigner(sk, rand.Reader)
		}
	}
	must(t, reg.SetLimit(ctx, requesterMSP, fixtureLimit))
	must(t, reg.SetPrice(ctx, category, price))
	_, err = reg.Rollover(ctx)
	must(t, err)
	must(t, store.Close())
	oprfKey, err := oprf.GenerateKey(nil)
	must(t, err)
	raw, err := oprfKey.MarshalBinary()
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, fileOPRFKey), raw, 0o600))
	must(t, os.WriteFile(filepath.Join(dir, fileList), []byte(listCSV), 0o600))

	// Every request is signed once; a retry resends the same bytes.
	reqs := make(map[uint64]*riskmeshv1.PeerRequest, requests)
	client, err := oprf.NewClient(oprfKey.Public(), catalogpsi.Info(category, 1))
	must(t, err)
	f := &fixture{t: t, reqSign: reqSign}
	for seq := uint64(1); seq <= requests; seq++ {
		inputs := make([][]byte, batch)
		for i := range inputs {
			id, err := ident.Normalize("phone", fmt.Sprintf("+86138%04d%04d", seq, i))
			must(t, err)
			inputs[i] = id.AppendTo(nil)
		}
		_, blinded, err := client.Blind(nil, inputs)
		must(t, err)
		reqs[seq] = f.sign(&transcript.Header{
			ProofRule: transcript.ProofBinding128, Protocol: transcript.ProtocolCatalogOPRF, Suite: catalogpsi.Suite, Category: category, Period: 1,
			Requester: requesterMSP, Responder: providerMSP, Sequence: seq, Count: batch, KeyID: oprfKey.Public().KeyID(),
		}, blinded)
	}
	provFP := peer.FingerprintOf(provTLS.Certificate[0])
	auth := peer.AuthorizerFunc(func(fp [32]byte) (string, error) {
		if fp != provFP {
			return "", errors.New("not the provider")
		}
		return providerMSP, nil
	})

	answered := map[uint64]bool{}
	var mu sync.Mutex
	// send sends every unanswered request over 4 concurrent streams until
	// all are answered or the connection breaks; stop, if set, is called
	// after the given number of answers in this run.
	send := func(c *child, killAfter int) {
		dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		conn, err := peer.Dial(dctx, c.addr, peer.Config{Certificate: reqTLS, Authorizer: auth})
		if err != nil {
			t.Logf("dial: %v", err)
			return
		}
		defer conn.Close()
		var todo []uint64
		for seq := uint64(1); seq <= requests; seq++ {
			if !answered[seq] {
				todo = append(todo, seq)
			}
		}
		work := make(chan uint64)
		var wg sync.WaitGroup
		var once sync.Once
		got := 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for seq := range work {
					resp, err := conn.Do(dctx, reqs[seq])
					var re *peer.RemoteError
					if errors.As(err, &re) && re.Code != riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE {
						t.Errorf("sequence %d refused: %v", seq, err)
					}
					if err != nil || resp.GetEvaluate() == nil {
						continue
					}
					mu.Lock()
					answered[seq] = true
					got++
					kill := killAfter > 0 && got == killAfter
					mu.Unlock()
					if kill {
						// In-flight requests fail now instead of waiting
						// for the dead connection's idle timeout.
						once.Do(func() { c.kill(); cancel() })
					}
				}
			}()
		}
		for _, seq := range todo {
			work <- seq
		}
		close(work)
		wg.Wait()
	}

	for run := range killRuns {
		c := startChild(t, dir)
		send(c, 1+rnd.IntN(maxPerRun))
		c.kill()
		mu.Lock()
		t.Logf("run %d: %d of %d answered", run, len(answered), requests)
		mu.Unlock()
	}
	// The last run is not killed: it answers the rest and drains.
	c := startChild(t, dir)
	for range 3 {
		if len(answered) == requests {
			break
		}
		send(c, 0)
	}
	if len(answered) != requests {
		t.Fatalf("%d of %d requests answered after the last run", len(answered), requests)
	}
	must(t, c.stdin.Close())
	if line := c.expect(t, "DRAINED "); line != "DRAINED 0" {
		t.Fatalf("child: %q, want no dead entries", line)
	}
	must(t, c.cmd.Wait())

	// The ledger, opened after the child stopped: exactly one entry per
	// sequence number sent and answered, none extra.
	store, err = accounting.OpenEmbedded(filepath.Join(dir, fileLedger), accounting.EmbeddedConfig{})
	must(t, err)
	defer store.Close()
	l, err := store.As(providerMSP)
	must(t, err)
	seen := map[uint64]int{}
	q := accounting.EntriesQuery{Period: 1, Party: providerMSP, AsResponder: true}
	for range 100 {
		page, err := l.Entries(ctx, q)
		must(t, err)
		for _, e := range page.Entries {
			seen[e.Key.Sequence]++
			if e.Count != batch || e.Amount != batch*price || e.Key.Requester != requesterMSP {
				t.Errorf("entry %d bills %d for %d items", e.Key.Sequence, e.Amount, e.Count)
			}
		}
		if q.Bookmark = page.Bookmark; q.Bookmark == "" {
			break
		}
	}
	if len(seen) != requests {
		t.Errorf("ledger holds %d distinct entries, want %d", len(seen), requests)
	}
	for seq := uint64(1); seq <= requests; seq++ {
		if seen[seq] != 1 || !answered[seq] {
			t.Errorf("sequence %d: %d ledger entries, answered %v", seq, seen[seq], answered[seq])
		}
	}
	if sealed {
		assertJournalSealed(t, filepath.Join(dir, fileNode), ring, requests)
	}
}

// assertJournalSealed checks that node.db at path journals want answers,
// each opening under ring at its own key and none readable in plain.
func assertJournalSealed(t *testing.T, path string, ring *seal.Keyring, want int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 10 * time.Second})
	must(t, err)
	defer db.Close()
	n := 0
	must(t, db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTranscripts)
		return b.ForEach(func(k, _ []byte) error {
			n++
			v := largevalue.Get(b, k)
			if _, err := transcript.Parse(v); err == nil {
				t.Errorf("answer %x journalled in plain", k)
			}
			plain, err := ring.OpenValue(bucketTranscripts, k, v)
			if err != nil {
				return err
			}
			_, err = transcript.Parse(plain)
			return err
		})
	}))
	if n != want {
		t.Errorf("%d answers journalled, want %d", n, want)
	}
}
