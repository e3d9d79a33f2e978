package nodetest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/deploy/fabric"
	"github.com/riskmesh/riskmesh/internal/pgtest"
	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/daemon"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

const (
	regulatorMSP = "RegulatorMSP"
	category     = "black"
	price        = 3
)

// institution is one node of the test consortium.
type institution struct {
	msp, dir, endpoint string
	metrics            string // host:port of /metrics and /healthz, or "off"
	id                 *identity.Identity
	proc               *process
}

func (in *institution) socket() string      { return filepath.Join(in.dir, "data", "api.sock") }
func (in *institution) idDir() string       { return filepath.Join(in.dir, "identity") }
func (in *institution) config() string      { return filepath.Join(in.dir, "node.yaml") }
func (in *institution) logFile() string     { return filepath.Join(in.dir, "node.log") }
func (in *institution) fingerprint() string { return hex.EncodeToString(in.id.Fingerprint[:]) }

// freeUDP returns a loopback address whose UDP port was free a moment ago.
func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// newInstitution creates msp's directory and identity, providing categories.
func newInstitution(t *testing.T, root, msp string, categories ...string) *institution {
	t.Helper()
	in := &institution{msp: msp, dir: filepath.Join(root, msp), endpoint: freeUDP(t), metrics: "off"}
	if err := os.MkdirAll(in.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	args := []string{"init", "identity", "--dir", in.idDir(), "--msp", msp}
	for _, c := range categories {
		args = append(args, "--category", c)
	}
	riskmesh(t, args...)
	var err error
	if in.id, err = identity.Load(in.idDir()); err != nil {
		t.Fatal(err)
	}
	return in
}

// writeConfig writes the node's node.yaml: the common part, then ledger and
// provider sections. Timeouts are shortened so that the test's restart of
// the regulator costs seconds: a stopping node's peer server closes its
// UDP socket concurrently with closing its connections (node/peer), so a
// connection can die without a close frame, and its peers notice only at
// the idle timeout or their call's deadline.
func (in *institution) writeConfig(t *testing.T, ledger, provider string) {
	t.Helper()
	yaml := fmt.Sprintf(`msp_id: %s
data_dir: data
identity_dir: identity
listen:
  peer: %s
  metrics: %q
registry:
  refresh: 250ms
  timeout: 2s
requester:
  retry_backoff: 20ms
  catalog_retry: 250ms
  max_catalog_retry: 1s
peer:
  handshake_timeout: 2s
  idle_timeout: 6s
outbox:
  min_backoff: 50ms
  max_backoff: 1s
  call_timeout: 5s
log:
  level: debug
%s%s`, in.msp, in.endpoint, in.metrics, ledger, provider)
	if err := os.WriteFile(in.config(), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Planted list entries: which provider lists which phone number, with
// which reason code.
var (
	phoneA  = "+8613800000001" // Bank1 only (PostgreSQL)
	phoneB  = "+8613800000002" // Bank2 only (CSV)
	phoneC  = "+8613800000003" // Bank3 only (NDJSON)
	phoneAB = "+8613800000004" // Bank1 and Bank2
	phoneNo = "+8613800000009" // nobody
)

func TestEmbeddedNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four node processes")
	}
	runNetwork(t, nil)
}

// runNetwork runs the whole scenario on the embedded ledger hosted by the
// regulator's node (fab nil) or on the Fabric network fab, where the
// regulator needs no node: its admin commands go to its own Fabric peer.
func runNetwork(t *testing.T, fab *fabric.Network) {
	ctx := context.Background()
	root := t.TempDir()
	pg := pgtest.Start(t)
	conn := pg.Connect(t)
	for _, q := range []string{
		`CREATE TABLE risk (ident text, kind text, cat smallint, reason int, listed date, ref text)`,
		`INSERT INTO risk VALUES
			('` + phoneA + `', 'phone', 1, 11, '2024-01-01', 'PG-A'),
			('` + phoneAB + `', 'phone', 1, 12, '2024-01-02', 'PG-AB'),
			('+8613800000005', 'phone', 2, 13, '2024-01-03', 'GREY')`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	// The Fabric network's organisations; the embedded ledger takes any.
	reg := newInstitution(t, root, regulatorMSP)
	bankA := newInstitution(t, root, "Bank1MSP", category)
	bankB := newInstitution(t, root, "Bank2MSP", category)
	bankC := newInstitution(t, root, "Bank3MSP", category)
	banks := []*institution{bankA, bankB, bankC}
	bankC.metrics = freeTCP(t)

	var ledgerOf func(in *institution) string
	if fab == nil {
		riskmesh(t, "init", "consortium", "--out", filepath.Join(reg.dir, "consortium.yaml"), bankA.idDir(), bankB.idDir(), bankC.idDir())
		reg.writeConfig(t, "ledger:\n  backend: embedded\n  embedded:\n    consortium_file: consortium.yaml\n", "")
		remote := fmt.Sprintf("ledger:\n  backend: embedded-remote\n  remote:\n    msp_id: %s\n    endpoint: %s\n    tls_fingerprint: %s\n",
			regulatorMSP, reg.endpoint, reg.fingerprint())
		ledgerOf = func(*institution) string { return remote }
	} else {
		ledgerOf = func(in *institution) string { return fabricLedger(t, fab, in) }
		reg.writeConfig(t, ledgerOf(reg), "")
	}
	bankA.writeConfig(t, ledgerOf(bankA), fmt.Sprintf(`provider:
  sources:
    - name: core-db
      category: %s
      code: 1
      kind: postgres
      dsn: %s
      query: SELECT ident, kind, cat, reason, listed, ref FROM risk
`, category, pg.URL))
	writeFile(t, filepath.Join(bankB.dir, "fraud.csv"), "phone,cat,reason,since,case\n"+
		phoneB+",1,21,2024-02-01,CSV-B\n"+phoneAB+",1,22,2024-02-02,CSV-AB\nnot-a-phone,1,23,2024-02-03,BAD\n")
	bankB.writeConfig(t, ledgerOf(bankB), fmt.Sprintf(`provider:
  sources:
    - name: fraud-file
      category: %s
      code: 1
      kind: csv
      path: fraud.csv
      mapping: {id: phone, fixed_type: phone, category: cat, reason: reason, listed: since, reference: case}
`, category))
	writeFile(t, filepath.Join(bankC.dir, "watch.ndjson"),
		`{"id":"`+phoneC+`","type":"phone","cat":1,"why":31,"on":"2024-03-01"}`+"\n")
	hook := newPushHook(t) // Bank3's business systems take its query events
	// Bank3 seals what it stores (docs/operations.md, "Data at rest"), so
	// the kills of "push across kills" hit a sealed node.db.
	t.Setenv("RISKMESH_NODETEST_SEAL", "nodetest passphrase")
	bankC.writeConfig(t, ledgerOf(bankC), "at_rest:\n  kek: passphrase\n  passphrase_env: RISKMESH_NODETEST_SEAL\n"+fmt.Sprintf(`provider:
  sources:
    - name: watch
      category: %s
      code: 1
      kind: ndjson
      path: watch.ndjson
      mapping: {id: id, type: type, category: cat, reason: why, listed: on}
`, category)+hook.config(t, bankC.dir))

	// The regulator first (its node hosts the embedded ledger), then its
	// onboarding of the banks with the admin commands, then the banks.
	var procs []*process
	cfg, err := daemon.FromConfig(mustLoad(t, reg.config()))
	if err != nil {
		t.Fatal(err)
	}
	if fab == nil {
		reg.proc = startNode(t, "regulator", reg.config(), reg.logFile())
		procs = append(procs, reg.proc)
	}
	admin, closer, err := daemon.AdminLedger(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closer.Close() })
	eventually(t, "regulator's ledger reachable", procs, func() error { _, err := admin.Accounts(ctx); return err })
	ledgerCmd := func(t *testing.T, args ...string) string {
		t.Helper()
		return riskmesh(t, append([]string{"ledger", "--config", reg.config()}, args...)...)
	}
	for _, b := range banks {
		ledgerCmd(t, "add-institution", b.msp, "--name", b.msp+" Bank", "--role", "requester", "--role", "provider")
		ledgerCmd(t, "set-limit", b.msp, "1000")
	}
	ledgerCmd(t, "set-price", category, fmt.Sprint(price))
	for _, b := range banks {
		b.proc = startNode(t, b.msp, b.config(), b.logFile())
		procs = append(procs, b.proc)
	}
	eventually(t, "banks registered their profiles and keys", procs, func() error {
		for _, b := range banks {
			in, err := admin.Institution(ctx, b.msp)
			if err != nil {
				return err
			}
			if in.Endpoint != b.endpoint || len(in.OPRFKeys[category]) == 0 {
				return fmt.Errorf("%s not registered yet", b.msp)
			}
		}
		return nil
	})
	var period accounting.Period
	if err := json.Unmarshal([]byte(ledgerCmd(t, "rollover")), &period); err != nil || period.Number != 1 {
		t.Fatalf("rollover: period %+v, %v", period, err)
	}

	apiA, apiC := apiClient(t, bankA.socket()), apiClient(t, bankC.socket())
	catalogsReady(t, apiA, procs, 1, bankB.msp, bankC.msp)
	catalogsReady(t, apiC, procs, 1, bankA.msp, bankB.msp)

	// One-to-many queries with known answers.
	t.Run("query from Bank3", func(t *testing.T) {
		r := query(t, apiC, phoneA, "+86 138-0000-0002", phoneAB, phoneC, phoneNo, "12345")
		want := []string{"0:Bank1MSP", "1:Bank2MSP", "2:Bank1MSP,Bank2MSP", "3:-", "4:-", "5:!"}
		checkHits(t, r, want)
		// 5 valid identifiers to 2 providers.
		if r.GetAmount() != 2*5*price {
			t.Errorf("amount = %d, want %d", r.GetAmount(), 2*5*price)
		}
		checkLabel(t, r.GetItems()[2].GetHits()[0].GetLabel(), 12, "2024-01-02", "PG-AB")
		checkLabel(t, r.GetItems()[2].GetHits()[1].GetLabel(), 22, "2024-02-02", "CSV-AB")
	})
	t.Run("query from Bank1", func(t *testing.T) {
		r := query(t, apiA, phoneC, phoneB, phoneA)
		checkHits(t, r, []string{"0:Bank3MSP", "1:Bank2MSP", "2:-"})
		checkLabel(t, r.GetItems()[0].GetHits()[0].GetLabel(), 31, "2024-03-01", "")
	})

	t.Run("metrics and healthz", func(t *testing.T) {
		body := httpGet(t, "http://"+bankC.metrics+"/metrics", http.StatusOK)
		for _, series := range []string{`riskmesh_queries_total{status="ok"} 1`, "riskmesh_provider_requests_total", "riskmesh_peer_requests_served_total", "riskmesh_outbox_depth", "riskmesh_peer_connections", "riskmesh_ledger_submit_errors_total"} {
			if !strings.Contains(body, series) {
				t.Errorf("/metrics lacks %s", series)
			}
		}
		var h riskmeshv1.HealthResponse
		if err := protojson.Unmarshal([]byte(httpGet(t, "http://"+bankC.metrics+"/healthz", http.StatusOK)), &h); err != nil {
			t.Fatal(err)
		}
		if h.GetStatus() != riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING || h.GetMspId() != bankC.msp || h.GetPeriod() != 1 {
			t.Errorf("/healthz = %v", &h)
		}
	})

	// Ledger entries: one per (query, provider), amounts = items x price.
	// Net balance changes: Bank3 paid Bank1 and Bank2 for 5 items each;
	// Bank1 paid Bank2 and Bank3 for 3 items each.
	want := map[string]int64{
		bankA.msp: 5*price - 2*3*price,
		bankB.msp: 5*price + 3*price,
		bankC.msp: -2*5*price + 3*price,
	}
	eventually(t, "entries recorded on the ledger", procs, func() error {
		var entries []accounting.RecordedEntry
		if err := json.Unmarshal([]byte(ledgerCmd(t, "entries", "1")), &entries); err != nil {
			return err
		}
		if len(entries) != 4 {
			return fmt.Errorf("%d entries, want 4", len(entries))
		}
		for _, e := range entries {
			if e.Amount != int64(e.Count)*price {
				return fmt.Errorf("entry amount %d for %d items", e.Amount, e.Count)
			}
		}
		return nil
	})

	// Each answer's proof was checked against the OPRF key the provider
	// published with its period-1 catalog; `ledger catalog` shows it.
	// It prints the digest and the key in hex, as the other commands do.
	var cat struct {
		MSPID   string `json:"mspId"`
		Period  uint64 `json:"period"`
		Digest  string `json:"digest"`
		OPRFKey string `json:"oprfKey"`
	}
	if err := json.Unmarshal([]byte(ledgerCmd(t, "catalog", bankB.msp, category, "1")), &cat); err != nil {
		t.Fatal(err)
	}
	digest, derr := hex.DecodeString(cat.Digest)
	key, kerr := hex.DecodeString(cat.OPRFKey)
	if cat.MSPID != bankB.msp || cat.Period != 1 || derr != nil || len(digest) != 32 || kerr != nil || len(key) != 32 {
		t.Fatalf("riskmesh ledger catalog: %+v", cat)
	}

	// The period cycle: balances sum to zero after settlement and are zero
	// after the snapshot.
	ledgerCmd(t, "rollover")
	ledgerCmd(t, "close", "1")
	ledgerCmd(t, "settle", "1")
	var accounts []accounting.Account
	if err := json.Unmarshal([]byte(ledgerCmd(t, "balances")), &accounts); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, a := range accounts {
		sum += a.Balance
		if w, ok := want[a.MSPID]; ok && a.Balance != w {
			t.Errorf("%s balance %d, want %d", a.MSPID, a.Balance, w)
		}
	}
	if sum != 0 || len(accounts) < 3 {
		t.Fatalf("balances %+v sum to %d", accounts, sum)
	}
	ledgerCmd(t, "snapshot", "1")
	if err := json.Unmarshal([]byte(ledgerCmd(t, "balances")), &accounts); err != nil {
		t.Fatal(err)
	}
	for _, a := range accounts {
		if a.Balance != 0 {
			t.Errorf("%s balance %d after the snapshot", a.MSPID, a.Balance)
		}
	}

	// A provider crashing (Bank2): its part is UNAVAILABLE and not billed, the
	// other provider answers.
	catalogsReady(t, apiC, procs, 2, bankA.msp, bankB.msp)
	t.Run("query command", func(t *testing.T) {
		batch := filepath.Join(bankC.dir, "batch.txt")
		writeFile(t, batch, "phone:"+phoneNo+"\n\ncard:123\n")
		out := riskmesh(t, "query", "--api", "unix://"+bankC.socket(), "--category", category,
			"--file", batch, "phone:"+phoneAB)
		for _, line := range []string{
			"phone:" + phoneAB + "\thit Bank1MSP: category 1, reason 12, listed 2024-01-02",
			"phone:" + phoneAB + "\thit Bank2MSP: category 1, reason 22, listed 2024-02-02",
			"phone:" + phoneNo + "\tno hit",
			"card:123\tinvalid: ",
			"provider Bank1MSP: answered, 2 items, 6 tokens",
		} {
			if !strings.Contains(out, line) {
				t.Errorf("riskmesh query output lacks %q:\n%s", line, out)
			}
		}
	})

	if fab == nil {
		// Not a subtest: the restarted regulator must outlive it.
		ledgerDownAndBack(t, reg, apiC, procs)
	}

	t.Run("suspension", func(t *testing.T) {
		// A suspended provider drops out of every requester's fan-out at
		// the next registry refresh; reactivated, it comes back.
		providersOf := func(r *riskmeshv1.QueryResult) string {
			var ps []string
			for _, p := range r.GetProviders() {
				ps = append(ps, p.GetProvider()+"="+strings.ToLower(strings.TrimPrefix(p.GetStatus().String(), "PROVIDER_STATUS_")))
			}
			return strings.Join(ps, " ")
		}
		ledgerCmd(t, "suspend", bankB.msp)
		eventually(t, "suspended provider left out", procs, func() error {
			if got := providersOf(query(t, apiC, phoneB)); got != "Bank1MSP=answered" {
				return fmt.Errorf("providers %s", got)
			}
			return nil
		})
		ledgerCmd(t, "reactivate", bankB.msp)
		eventually(t, "reactivated provider answers again", procs, func() error {
			if got := providersOf(query(t, apiC, phoneB)); got != "Bank1MSP=answered Bank2MSP=answered" {
				return fmt.Errorf("providers %s", got)
			}
			return nil
		})
	})

	// Bank2 crashes and is started again between two queries: its peers'
	// connections from before the crash look open, but the restarted node
	// resets them (QUIC stateless reset, node/peer), so the first query
	// after the restart is answered instead of waiting out its deadline or
	// the 60 s idle timeout.
	bankB.proc.kill(t)
	bankB.proc = startNode(t, bankB.msp+" (restarted)", bankB.config(), bankB.logFile()+".restarted")
	apiB := apiClient(t, bankB.socket())
	eventually(t, "restarted Bank2 serves its catalog", procs, func() error {
		st, err := apiB.CatalogStatus(context.Background(), &riskmeshv1.CatalogStatusRequest{Category: category})
		if err != nil {
			return err
		}
		for _, lc := range st.GetLocal() {
			if lc.GetPeriod() == 2 && lc.GetServing() {
				return nil
			}
		}
		return fmt.Errorf("local catalogs %v", st.GetLocal())
	})
	r := queryWithin(t, apiC, 5*time.Second, phoneB)
	if len(r.GetProviders()) != 2 || r.GetProviders()[1].GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
		t.Fatalf("first query after Bank2's restart: %v", r.GetProviders())
	}

	bankB.proc.kill(t)
	r = queryWithin(t, apiC, 3*time.Second, phoneA, phoneB)
	st := map[string]riskmeshv1.ProviderStatus{}
	for _, p := range r.GetProviders() {
		st[p.GetProvider()] = p.GetStatus()
	}
	if st[bankA.msp] != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED || st[bankB.msp] != riskmeshv1.ProviderStatus_PROVIDER_STATUS_UNAVAILABLE {
		t.Fatalf("statuses with Bank2 killed: %v", st)
	}
	checkHits(t, r, []string{"0:Bank1MSP", "1:-"})
	if r.GetAmount() != 2*price {
		t.Errorf("amount with Bank2 down = %d, want %d", r.GetAmount(), 2*price)
	}

	t.Run("push across kills", func(t *testing.T) { pushAcrossKills(t, bankC, hook, procs) })
	if _, err := os.Stat(filepath.Join(bankC.dir, "data", seal.KeyringFile)); err != nil {
		t.Errorf("Bank3 runs sealed, but: %v", err)
	}

	// No log line of any node carries a planted identifier.
	for _, in := range append(banks, reg) {
		if in.proc == nil {
			continue
		}
		logs, _ := filepath.Glob(in.logFile() + "*")
		var data []byte
		for _, l := range logs {
			b, err := os.ReadFile(l)
			if err != nil {
				t.Fatal(err)
			}
			data = append(data, b...)
		}
		for _, p := range []string{phoneA, phoneB, phoneC, phoneAB, phoneNo, "13800000001"} {
			if strings.Contains(string(data), p) {
				t.Errorf("%s's log contains an identifier", in.msp)
			}
		}
	}
}

// ledgerDownAndBack stops the regulator's node, which hosts the embedded
// ledger: queries are still answered (from the registry as last read) and
// their accounting entries queue in the providers' outboxes; when the
// regulator is back, the nodes reconnect and the entries reach the ledger.
func ledgerDownAndBack(t *testing.T, reg *institution, api riskmeshv1.RiskMeshClient, procs []*process) {
	t.Helper()
	ctx := context.Background()
	before, err := entryCount(reg, 2)
	if err != nil {
		t.Fatal(err)
	}
	reg.proc.stop(t)
	eventually(t, "ledger reported unreachable", procs, func() error {
		h, err := api.Health(ctx, &riskmeshv1.HealthRequest{})
		if err != nil {
			return err
		}
		if h.GetStatus() != riskmeshv1.HealthStatus_HEALTH_STATUS_DEGRADED {
			return fmt.Errorf("health %v", h)
		}
		return nil
	})
	r := query(t, api, phoneA, phoneB)
	for _, p := range r.GetProviders() {
		if p.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
			t.Fatalf("with the ledger down, %s: %v", p.GetProvider(), p.GetStatus())
		}
	}
	checkHits(t, r, []string{"0:Bank1MSP", "1:Bank2MSP"})

	reg.proc = startNode(t, "regulator (restarted)", reg.config(), reg.logFile()+".restarted")
	eventually(t, "queued entries recorded after the ledger came back", procs, func() error {
		n, err := entryCount(reg, 2)
		if err == nil && n != before+2 {
			err = fmt.Errorf("%d entries in period 2, want %d", n, before+2)
		}
		return err
	})
}

// entryCount is the number of entries of period on the ledger, read with
// the regulator's riskmesh ledger command.
func entryCount(reg *institution, period int) (int, error) {
	out, err := exec.Command(binary, "ledger", "--config", reg.config(), "entries", fmt.Sprint(period)).Output()
	if err != nil {
		return 0, fmt.Errorf("riskmesh ledger entries: %w", err)
	}
	var entries []accounting.RecordedEntry
	if err := json.Unmarshal(out, &entries); err != nil {
		return 0, err
	}
	return len(entries), nil
}

// freeTCP returns a loopback address whose TCP port was free a moment ago.
func freeTCP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// httpGet fetches url and checks the status code.
func httpGet(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	return string(body)
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// catalogsReady waits until c's node holds verified catalogs of providers
// for period.
func catalogsReady(t *testing.T, c riskmeshv1.RiskMeshClient, procs []*process, period uint64, providers ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("period %d catalogs of %v downloaded", period, providers), procs, func() error {
		st, err := c.CatalogStatus(context.Background(), &riskmeshv1.CatalogStatusRequest{Category: category})
		if err != nil {
			return err
		}
		ready := map[string]bool{}
		for _, rc := range st.GetRemote() {
			if rc.GetPeriod() == period && rc.GetState() == riskmeshv1.CatalogState_CATALOG_STATE_READY {
				ready[rc.GetProvider()] = true
			}
		}
		for _, p := range providers {
			if !ready[p] {
				return fmt.Errorf("%s's catalog not ready: %v", p, st.GetRemote())
			}
		}
		return nil
	})
}

func query(t *testing.T, c riskmeshv1.RiskMeshClient, phones ...string) *riskmeshv1.QueryResult {
	t.Helper()
	return queryWithin(t, c, 0, phones...)
}

// queryWithin runs one query (deadline 0 for the node's default) and
// returns its final result, checking the stream's event order.
func queryWithin(t *testing.T, c riskmeshv1.RiskMeshClient, deadline time.Duration, phones ...string) *riskmeshv1.QueryResult {
	t.Helper()
	req := &riskmeshv1.QueryRequest{Category: category}
	if deadline > 0 {
		req.Deadline = durationpb.New(deadline)
	}
	for _, p := range phones {
		req.Identifiers = append(req.Identifiers, &riskmeshv1.Identifier{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: p})
	}
	stream, err := c.Query(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var accepted bool
	for range 100 {
		ev, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ev.GetAccepted() != nil:
			accepted = true
		case !accepted:
			t.Fatalf("event %v before QueryAccepted", ev)
		case ev.GetResult() != nil:
			return ev.GetResult()
		}
	}
	t.Fatal("query stream ended without a result")
	return nil
}

// checkHits compares a result with want, one "index:providers" per item
// ("-" a miss everywhere, "!" an invalid identifier).
func checkHits(t *testing.T, r *riskmeshv1.QueryResult, want []string) {
	t.Helper()
	var got []string
	for _, it := range r.GetItems() {
		s := "-"
		switch {
		case it.GetInvalidReason() != riskmeshv1.InvalidReason_INVALID_REASON_UNSPECIFIED:
			s = "!"
		case len(it.GetHits()) > 0:
			var ps []string
			for _, h := range it.GetHits() {
				ps = append(ps, h.GetProvider())
			}
			s = strings.Join(ps, ",")
		}
		got = append(got, fmt.Sprintf("%d:%s", it.GetIndex(), s))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("hits = %v, want %v", got, want)
	}
}

func checkLabel(t *testing.T, l *riskmeshv1.Label, reason uint32, listed, ref string) {
	t.Helper()
	if l.GetCategoryCode() != 1 || l.GetReasonCode() != reason || l.GetListedDate() != listed ||
		strings.TrimRight(string(l.GetProviderReference()), "\x00") != ref {
		t.Errorf("label = %v, want reason %d listed %s reference %q", l, reason, listed, ref)
	}
}

func mustLoad(t *testing.T, path string) *config.Config {
	t.Helper()
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
