package daemon_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/daemon"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/push"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T, dir, name string) {
	t.Helper()
	cert, err := selfsigned.New(name, nil, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := selfsigned.PEM(cert)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".key"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
}

func parseConfig(t *testing.T, dir, yaml string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(yaml), dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFromConfig(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir, "api")
	writeCert(t, dir, "clients")
	t.Setenv("TEST_LISTS_DSN", "postgres://lists@127.0.0.1:1/lists")
	fp := strings.Repeat("ab", 32)

	t.Run("institution", func(t *testing.T) {
		c := parseConfig(t, dir, `msp_id: Bank1MSP
listen:
  peer: 127.0.0.1:7400
  endpoint: bank1.example:7400
  api: tcp:127.0.0.1:0
  metrics: 127.0.0.1:9400
  pprof: 127.0.0.1:6060
api:
  tls: {cert: api.crt, key: api.key, client_ca: clients.crt}
  admin_clients: [ops]
  max_identifiers: 500
  max_streams: 9
  max_queries: 3
ledger:
  backend: embedded-remote
  remote: {msp_id: RegulatorMSP, endpoint: 127.0.0.1:7300, tls_fingerprint: `+fp+`}
registry: {refresh: 1s}
peer: {max_streams: 32, idle_timeout: 2m}
outbox: {batch_size: 500, max_backoff: 1m, batch_delay: -1ns}
provider:
  sources:
    - {name: file, category: black, code: 1, kind: csv, path: black.csv, refresh: 1h,
       mapping: {id: id, fixed_type: phone, category: cat, reason: reason, listed: listed}}
    - {name: db, category: grey, code: 2, kind: postgres, dsn_env: TEST_LISTS_DSN,
       query: "SELECT a, b, c, d, e FROM t"}
requester: {batch_window: 5ms, split_items: 300, catalog_resident_bytes: 1048576, default_deadline: 10s, late_answer_window: -1ns, max_late_answers: 7}
disputes: {auditor_msp: RegulatorMSP, auditor_address: "regulator.example:7444", retry: 1m}
retention: {transcript_periods: 12}
`)
		cfg, err := daemon.FromConfig(c)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case cfg.MSPID != "Bank1MSP" || cfg.PeerListen != "127.0.0.1:7400" || cfg.PeerEndpoint != "bank1.example:7400":
			t.Errorf("identity and listen: %+v", cfg)
		case cfg.APIListen != "127.0.0.1:0" || cfg.APITLS == nil || cfg.APITLS.ClientAuth != tls.RequireAndVerifyClientCert || cfg.APITLS.MinVersion != tls.VersionTLS13:
			t.Errorf("API over TCP: %q %+v", cfg.APIListen, cfg.APITLS)
		case cfg.API.MaxIdentifiers != 500 || cfg.API.MaxStreams != 9 || cfg.API.MaxQueries != 3 ||
			len(cfg.API.AdminClients) != 1 || cfg.MetricsListen != "127.0.0.1:9400" || cfg.PprofListen != "127.0.0.1:6060":
			t.Errorf("API limits, metrics and profiles: %+v %q %q", cfg.API, cfg.MetricsListen, cfg.PprofListen)
		case cfg.Ledger.Backend != daemon.BackendEmbeddedRemote || cfg.Ledger.HostMSPID != "RegulatorMSP" || cfg.Ledger.HostFingerprint[0] != 0xab:
			t.Errorf("ledger: %+v", cfg.Ledger)
		case cfg.Registry.Refresh != time.Second:
			t.Errorf("registry: %+v", cfg.Registry)
		case cfg.Peer.MaxStreams != 32 || cfg.Peer.IdleTimeout != 2*time.Minute:
			t.Errorf("peer: %+v", cfg.Peer)
		case cfg.Requester == nil || cfg.Requester.BatchWindow != 5*time.Millisecond || cfg.Requester.DefaultDeadline != 10*time.Second || cfg.Requester.TranscriptPeriods != 12,
			cfg.Requester.LateAnswerWindow != -1 || cfg.Requester.MaxLateAnswers != 7 || cfg.Requester.SplitItems != 300:
			t.Errorf("requester: %+v", cfg.Requester)
		case cfg.CatalogResidentBytes != 1<<20:
			t.Errorf("catalog resident bytes: %d", cfg.CatalogResidentBytes)
		case cfg.Provider == nil || len(cfg.Provider.Sources) != 2 || cfg.Provider.Sources[1].Code != 2 || cfg.Provider.RetainPeriods != 12:
			t.Errorf("provider: %+v", cfg.Provider)
		case cfg.Outbox.BatchSize != 500 || cfg.Outbox.MaxBackoff != time.Minute || cfg.Outbox.BatchDelay != -1:
			t.Errorf("outbox: %+v", cfg.Outbox)
		case cfg.Provider.Sources[0].ImportFile == nil || cfg.Provider.Sources[1].ImportFile != nil:
			t.Errorf("imports: the CSV source must take files, the PostgreSQL source none")
		case len(cfg.SourceRefresh) != 1 || cfg.SourceRefresh["file"] != time.Hour:
			t.Errorf("source refresh: %v", cfg.SourceRefresh)
		case cfg.Disputes == nil || cfg.Disputes.AuditorMSP != "RegulatorMSP" || cfg.Disputes.AuditorAddress != "regulator.example:7444" || cfg.Disputes.Retry != time.Minute:
			t.Errorf("disputes: %+v", cfg.Disputes)
		}
	})

	t.Run("regulator", func(t *testing.T) {
		c := parseConfig(t, dir, `msp_id: RegulatorMSP
listen: {peer: 127.0.0.1:7300, metrics: "off"}
ledger:
  backend: embedded
  embedded: {consortium_file: consortium.yaml}
`)
		cfg, err := daemon.FromConfig(c)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Requester != nil || cfg.Provider != nil || cfg.Disputes != nil || cfg.MetricsListen != "" || cfg.PprofListen != "" {
			t.Errorf("regulator runs requester %v, provider %v, metrics %q, profiles %q (listen.pprof's default is off)",
				cfg.Requester, cfg.Provider, cfg.MetricsListen, cfg.PprofListen)
		}
		if cfg.APISocket != filepath.Join(dir, "data", "api.sock") || cfg.Ledger.Path != filepath.Join(dir, "data", "ledger.db") ||
			cfg.Ledger.ConsortiumFile != filepath.Join(dir, "consortium.yaml") {
			t.Errorf("paths: socket %q, ledger %q, consortium %q", cfg.APISocket, cfg.Ledger.Path, cfg.Ledger.ConsortiumFile)
		}
		if cfg.Ledger.Genesis.Mode != chaincode.GovernanceRegulator {
			t.Errorf("genesis %+v, want the regulator deciding", cfg.Ledger.Genesis)
		}
		members, err := daemon.FromConfig(parseConfig(t, dir, `msp_id: RegulatorMSP
listen: {peer: 127.0.0.1:7300, metrics: "off"}
ledger:
  backend: embedded
  embedded: {consortium_file: consortium.yaml, governance_threshold: 3}
`))
		if err != nil || members.Ledger.Genesis != (chaincode.Governance{Mode: chaincode.GovernanceMembers, Threshold: 3}) {
			t.Errorf("governance_threshold 3: genesis %+v, %v", members.Ledger.Genesis, err)
		}
	})

	t.Run("fabric", func(t *testing.T) {
		write := func(name string, mode os.FileMode) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("-----BEGIN X-----\n-----END X-----\n"), mode); err != nil {
				t.Fatal(err)
			}
		}
		write("ca.pem", 0o644)
		write("gw.pem", 0o644)
		write("gw.key", 0o600)
		c := parseConfig(t, dir, `msp_id: Bank1MSP
ledger:
  backend: fabric
  fabric: {peer_address: "peer0:7051", tls_root_cert: ca.pem, certificate: gw.pem, private_key: gw.key, channel: ch, max_attempts: 3}
`)
		cfg, err := daemon.FromConfig(c)
		if err != nil {
			t.Fatal(err)
		}
		if fc := cfg.Ledger.Fabric; fc.MSPID != "Bank1MSP" || fc.Channel != "ch" || fc.MaxAttempts != 3 || len(fc.PrivateKey) == 0 || len(fc.TLSRootCert) == 0 {
			t.Errorf("fabric: %+v", fc)
		}
		if err := os.Chmod(filepath.Join(dir, "gw.key"), 0o640); err != nil {
			t.Fatal(err)
		}
		if _, err := daemon.FromConfig(c); err == nil || !strings.Contains(err.Error(), "ledger.fabric.private_key") {
			t.Errorf("FromConfig with a group-readable Fabric key: %v", err)
		}
	})

	t.Run("missing API client CA", func(t *testing.T) {
		c := parseConfig(t, dir, `msp_id: Bank1MSP
listen: {api: "tcp:127.0.0.1:0"}
api:
  tls: {cert: api.crt, key: api.key, client_ca: missing.crt}
ledger:
  backend: embedded-remote
  remote: {msp_id: RegulatorMSP, endpoint: 127.0.0.1:7300, tls_fingerprint: `+fp+`}
`)
		if _, err := daemon.FromConfig(c); err == nil || !strings.Contains(err.Error(), "client_ca") {
			t.Fatalf("FromConfig = %v, want an error naming api.tls.client_ca", err)
		}
	})
}

func TestLogger(t *testing.T) {
	var buf strings.Builder
	daemon.Logger(config.Log{Level: "warn", Format: "json"}, &buf).Info("hidden")
	daemon.Logger(config.Log{Level: "warn", Format: "json"}, &buf).Warn("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), `"msg":"shown"`) {
		t.Errorf("log output %q", buf.String())
	}
}

// TestRemoteFingerprintWithColons: the host's fingerprint as openssl prints
// it passes config.Load and converts to the same pinned fingerprint as the
// plain form (node/identity.ParseFingerprint parses both, for both).
func TestRemoteFingerprintWithColons(t *testing.T) {
	const plain = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	colons := strings.ToUpper(plain[:2])
	for i := 2; i < len(plain); i += 2 {
		colons += ":" + strings.ToUpper(plain[i:i+2])
	}
	for _, fp := range []string{plain, colons} {
		dir := t.TempDir()
		path := filepath.Join(dir, "node.yaml")
		yaml := "msp_id: Bank1MSP\nlisten: {peer: 127.0.0.1:7400}\nledger:\n  backend: embedded-remote\n" +
			"  remote: {msp_id: RegulatorMSP, endpoint: 127.0.0.1:7300, tls_fingerprint: \"" + fp + "\"}\n"
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(path)
		if err != nil {
			t.Fatalf("config.Load with %s: %v", fp, err)
		}
		cfg, err := daemon.FromConfig(c)
		if err != nil {
			t.Fatalf("FromConfig with %s: %v", fp, err)
		}
		if got := cfg.Ledger.HostFingerprint.String(); got != plain {
			t.Fatalf("%s pinned as %s, want %s", fp, got, plain)
		}
	}
}

// TestFromConfigKeys reads the keys and at_rest sections: placements per
// key, the token with its PIN from the environment, the KEK; a PIN or a
// passphrase whose variable is unset is an error naming the key, not the
// secret.
func TestFromConfigKeys(t *testing.T) {
	const base = `msp_id: Bank1MSP
ledger:
  backend: embedded-remote
  remote: {msp_id: RegulatorMSP, endpoint: 127.0.0.1:7300, tls_fingerprint: ` + "abababababababababababababababababababababababababababababababab" + `}
`
	dir := t.TempDir()
	t.Setenv("TEST_HSM_PIN", "4242")
	t.Setenv("TEST_SEAL_PASS", "sandbox passphrase")

	cfg, err := daemon.FromConfig(parseConfig(t, dir, base+`keys:
  signing: hsm
  oprf: hsm
  hsm: {module: p11.so, token_label: node, pin_env: TEST_HSM_PIN}
at_rest: {kek: hsm}
`))
	if err != nil {
		t.Fatal(err)
	}
	k := cfg.Keys
	want := identity.Placement{Signing: identity.InToken, TLS: identity.InFile, OPRF: identity.InToken}
	if k.Place != want || k.HSM == nil || k.HSM.PIN != "4242" || k.HSM.Label != "node" ||
		k.HSM.Module != filepath.Join(dir, "p11.so") || k.AtRest != daemon.AtRestHSM {
		t.Fatalf("keys: %+v, token %+v", k, k.HSM)
	}

	cfg, err = daemon.FromConfig(parseConfig(t, dir, base+"at_rest: {kek: passphrase, passphrase_env: TEST_SEAL_PASS}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Keys.AtRest != daemon.AtRestPassphrase || string(cfg.Keys.Passphrase) != "sandbox passphrase" || cfg.Keys.HSM != nil || cfg.Keys.Place != (identity.Placement{}) {
		t.Fatalf("passphrase keys: %+v", cfg.Keys)
	}

	for name, yaml := range map[string]string{
		"keys.hsm.pin_env":       "keys:\n  tls: hsm\n  hsm: {module: p11.so, token_label: node, pin_env: TEST_UNSET_PIN}\n",
		"at_rest.passphrase_env": "at_rest: {kek: passphrase, passphrase_env: TEST_UNSET_PASS}\n",
	} {
		if _, err := daemon.FromConfig(parseConfig(t, dir, base+yaml)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s unset: %v", name, err)
		}
	}
}

// The push section becomes webhook and JetStream destinations with their
// event types; a secret file others can read, or one too short, stops the
// start under its key.
func TestFromConfigPush(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir, "receiver")
	secret := filepath.Join(dir, "hook.secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("s", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fp := strings.Repeat("ab", 32)
	yaml := `msp_id: Bank1MSP
ledger:
  backend: embedded-remote
  remote: {msp_id: RegulatorMSP, endpoint: 127.0.0.1:7300, tls_fingerprint: ` + fp + `}
push:
  max_attempts: 5
  destinations:
    - name: core
      events: [query_result, reconciled]
      categories: [black]
      webhook: {url: "https://core.example/events", secret_file: hook.secret, ca_file: receiver.crt}
    - name: bus
      nats: {url: "nats://127.0.0.1:4222", subject: riskmesh.events}
    - name: kafka
      events: [dispute]
      kafka: {brokers: ["127.0.0.1:9093"], topic: riskmesh-events, ca_file: receiver.crt, user: riskmesh, password_file: hook.secret}
`
	cfg, err := daemon.FromConfig(parseConfig(t, dir, yaml))
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Push
	if p == nil || p.MaxAttempts != 5 || len(p.Destinations) != 3 {
		t.Fatalf("push: %+v", p)
	}
	core, bus, kafka := p.Destinations[0], p.Destinations[1], p.Destinations[2]
	if _, ok := core.Sender.(*push.Webhook); !ok || core.Name != "core" || !slices.Equal(core.Categories, []string{"black"}) ||
		!slices.Equal(core.Events, []riskmeshv1.PushEventType{riskmeshv1.PushEventType_PUSH_EVENT_TYPE_QUERY_RESULT, riskmeshv1.PushEventType_PUSH_EVENT_TYPE_RECONCILED}) {
		t.Errorf("webhook destination: %+v", core)
	}
	if _, ok := bus.Sender.(*push.JetStream); !ok || bus.Name != "bus" || len(bus.Events) != 0 {
		t.Errorf("nats destination: %+v", bus)
	}
	if _, ok := kafka.Sender.(*push.Kafka); !ok || !slices.Equal(kafka.Events, []riskmeshv1.PushEventType{riskmeshv1.PushEventType_PUSH_EVENT_TYPE_DISPUTE}) {
		t.Errorf("kafka destination: %+v", kafka)
	}

	if err := os.Chmod(secret, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := daemon.FromConfig(parseConfig(t, dir, yaml)); err == nil || !strings.Contains(err.Error(), "push.destinations[0].webhook.secret_file") {
		t.Errorf("FromConfig with a world-readable secret: %v", err)
	}
	if err := os.WriteFile(secret, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(secret, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := daemon.FromConfig(parseConfig(t, dir, yaml)); err == nil || !strings.Contains(err.Error(), "push.destinations[0].webhook") ||
		strings.Contains(err.Error(), "short") {
		t.Errorf("FromConfig with a short secret: %v (must not show the secret)", err)
	}
}

func TestFromConfigReconcile(t *testing.T) {
	dir := t.TempDir()
	fp := strings.Repeat("ab", 32)
	base := `msp_id: Bank1MSP
ledger:
  backend: embedded-remote
  remote: {msp_id: RegulatorMSP, endpoint: 127.0.0.1:7300, tls_fingerprint: ` + fp + `}
`
	cfg, err := daemon.FromConfig(parseConfig(t, dir, base))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Reconcile != nil {
		t.Fatalf("reconciliations without a reconcile section: %+v", cfg.Reconcile)
	}
	cfg, err = daemon.FromConfig(parseConfig(t, dir, base+`reconcile:
  chunk_size: 1024
  lists:
    - name: loans
      category: recon-loans
      code: 2
      kind: csv
      path: loans.csv
      mapping: {id: id, fixed_type: idcard, category: code, reason: reason, listed: listed}
  grants:
    - {requester: Bank2MSP, list: loans, modes: [both-learn, requester-learns]}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Reconcile
	if r == nil || r.ChunkSize != 1024 || len(r.Lists) != 1 || len(r.Grants) != 1 {
		t.Fatalf("reconcile: %+v", r)
	}
	if l := r.Lists[0]; l.Name != "loans" || l.Category != "recon-loans" || l.Code != 2 || l.Source == nil {
		t.Errorf("list: %+v", l)
	}
	want := []transcript.Protocol{transcript.ProtocolECDHBothLearn, transcript.ProtocolECDHRequesterLearns}
	if g := r.Grants[0]; g.Requester != "Bank2MSP" || g.List != "loans" || !slices.Equal(g.Protocols, want) {
		t.Errorf("grant: %+v", g)
	}
}
