package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest valid file for an institution.
const minimal = `
msp_id: Bank1MSP
ledger:
  remote:
    msp_id: RegulatorMSP
    endpoint: 127.0.0.1:7300
    tls_fingerprint: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
`

func parse(t *testing.T, yaml string) (*Config, error) {
	t.Helper()
	return Parse([]byte(yaml), "/etc/riskmesh")
}

func TestDefaults(t *testing.T) {
	c, err := parse(t, minimal)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		MSPID:       "Bank1MSP",
		DataDir:     "/etc/riskmesh/data",
		IdentityDir: "/etc/riskmesh/identity",
		Listen: Listen{
			Peer:     "127.0.0.1:7400",
			Endpoint: "127.0.0.1:7400",
			API:      "unix:/etc/riskmesh/data/api.sock",
			Metrics:  "127.0.0.1:9400",
			Pprof:    "off",
		},
		Ledger: Ledger{
			Backend: BackendEmbeddedRemote,
			Remote: &Remote{
				MSPID:          "RegulatorMSP",
				Endpoint:       "127.0.0.1:7300",
				TLSFingerprint: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			},
		},
		Log: Log{Level: "info", Format: "json"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	if n, addr := c.APINetwork(); n != "unix" || addr != "/etc/riskmesh/data/api.sock" {
		t.Errorf("APINetwork = %q, %q", n, addr)
	}
}

func TestFullExample(t *testing.T) {
	c, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := filepath.Abs("testdata")
	checks := []struct {
		key       string
		got, want any
	}{
		{"data_dir (absolute kept)", c.DataDir, "/var/lib/riskmesh"},
		{"identity_dir (relative to the file)", c.IdentityDir, filepath.Join(base, "identity")},
		{"listen.endpoint", c.Listen.Endpoint, "node1.bank1.example:7400"},
		{"listen.pprof", c.Listen.Pprof, "[::1]:6060"},
		{"api.tls.key", c.API.TLS.Key, filepath.Join(base, "tls/api.key")},
		{"api.grace_period", c.API.GracePeriod, 5 * time.Second},
		{"api.max_streams", c.API.MaxStreams, 8},
		{"api.max_queries", c.API.MaxQueries, 4},
		{"peer.request_rate", c.Peer.RequestRate, 250.0},
		{"provider.sources", len(c.Provider.Sources), 4},
		{"provider.sources[0].path", c.Provider.Sources[0].Path, filepath.Join(base, "lists/black.csv")},
		{"provider.sources[1].path", c.Provider.Sources[1].Path, "/data/watch.tsv"},
		{"provider.sources[1].mapping.fixed_type", c.Provider.Sources[1].Mapping.FixedType, "phone"},
		{"provider.sources[3].refresh", c.Provider.Sources[3].Refresh, 15 * time.Minute},
		{"requester.catalog_max_bytes", c.Requester.CatalogMaxBytes, int64(2 << 30)},
		{"requester.catalog_resident_bytes", c.Requester.CatalogResidentBytes, int64(512 << 20)},
		{"requester.batch_window", c.Requester.BatchWindow, 5 * time.Millisecond},
		{"requester.split_items", c.Requester.SplitItems, 500},
		{"disputes.auditor_address", c.Disputes.AuditorAddress, "regulator.example:7444"},
		{"disputes.retry", c.Disputes.Retry, time.Minute},
		{"outbox.batch_size", c.Outbox.BatchSize, 500},
		{"outbox.batch_delay", c.Outbox.BatchDelay, 20 * time.Millisecond},
		{"push.max_attempts", c.Push.MaxAttempts, 30},
		{"push.destinations", len(c.Push.Destinations), 2},
		{"push.destinations[0].events", c.Push.Destinations[0].Events, []string{"query_result", "query_changed"}},
		{"push.destinations[0].webhook.secret_file", c.Push.Destinations[0].Webhook.SecretFile, filepath.Join(base, "secrets/core-banking.secret")},
		{"push.destinations[1].nats.subject", c.Push.Destinations[1].NATS.Subject, "riskmesh.events"},
		{"push.destinations[1].nats.creds_file", c.Push.Destinations[1].NATS.CredsFile, filepath.Join(base, "secrets/riskmesh.creds")},
		{"retention.queries", c.Retention.Queries, 4380 * time.Hour},
		{"log.format", c.Log.Format, "text"},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.key, ck.got, ck.want)
		}
	}
}

func TestEmbeddedDefaults(t *testing.T) {
	c, err := parse(t, "msp_id: RegulatorMSP\nledger:\n  backend: embedded\n  embedded:\n    consortium_file: consortium.yaml\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Ledger.Embedded.Path != "/etc/riskmesh/data/ledger.db" {
		t.Errorf("embedded path %q", c.Ledger.Embedded.Path)
	}
	if c.Ledger.Embedded.ConsortiumFile != "/etc/riskmesh/consortium.yaml" {
		t.Errorf("consortium file %q", c.Ledger.Embedded.ConsortiumFile)
	}
}

func TestRejects(t *testing.T) {
	// with replaces the first occurrence of old in minimal, or appends
	// extra YAML when old is empty.
	with := func(old, new string) string {
		if old == "" {
			return minimal + new
		}
		if !strings.Contains(minimal, old) {
			t.Fatalf("%q not in the minimal file", old)
		}
		return strings.Replace(minimal, old, new, 1)
	}
	csv := func(extra string) string {
		return with("", "provider:\n  sources:\n    - name: a\n      category: black\n      code: 1\n      kind: csv\n      path: a.csv\n"+extra)
	}
	const mapping = "      mapping: {id: id, type: type, category: cat, reason: reason, listed: listed}\n"
	tests := []struct {
		name, file, want string
	}{
		{"empty file", "", "empty file"},
		{"second document", minimal + "---\nmsp_id: X\n", "more than one YAML document"},
		{"unknown top-level key", with("", "colour: blue\n"), "line 8: field colour not found"},
		{"misspelt nested key", with("endpoint: 127", "endpiont: 127"), "line 6: field endpiont not found"},
		{"wrong type", with("", "peer:\n  max_streams: many\n"), "line 9: cannot unmarshal !!str `many` into int"},
		{"scalar for a section", with("", "log: verbose\n"), "line 8: cannot unmarshal !!str `verbose` into a section"},
		{"duration without unit", with("", "registry:\n  refresh: 5\n"), "line 9: cannot unmarshal !!int `5` into a duration"},
		{"missing msp_id", with("msp_id: Bank1MSP", ""), "msp_id:"},
		{"bad msp_id", with("Bank1MSP", "Bank 1"), "msp_id:"},
		{"peer without port", with("", "listen:\n  peer: localhost\n"), "listen.peer:"},
		{"wildcard endpoint", with("", "listen:\n  peer: 0.0.0.0:7400\n"), "listen.endpoint:"},
		{"api scheme", with("", "listen:\n  api: http://x\n"), "listen.api:"},
		{"tcp api without tls", with("", "listen:\n  api: tcp:127.0.0.1:7443\n"), "api.tls: required"},
		{"tls on unix", with("", "api:\n  tls: {cert: a, key: b, client_ca: c}\n"), "api.tls: not used"},
		{"tls without key", with("", "listen:\n  api: tcp:127.0.0.1:7443\napi:\n  tls: {cert: a, client_ca: c}\n"), "api.tls.key: required"},
		{"metrics address", with("", "listen:\n  metrics: nine\n"), "listen.metrics:"},
		{"pprof address", with("", "listen:\n  pprof: nine\n"), "listen.pprof: \"nine\" is not host:port"},
		{"pprof empty", with("", "listen:\n  pprof: ''\n"), "listen.pprof: required"},
		{"pprof on every interface", with("", "listen:\n  pprof: ':6060'\n"), "listen.pprof: \":6060\" is not on loopback"},
		{"pprof on a routable address", with("", "listen:\n  pprof: 10.0.0.5:6060\n"), "listen.pprof: \"10.0.0.5:6060\" is not on loopback"},
		{"pprof on a wildcard", with("", "listen:\n  pprof: '[::]:6060'\n"), "listen.pprof: \"[::]:6060\" is not on loopback"},
		{"pprof on a name", with("", "listen:\n  pprof: localhost:6060\n"), "listen.pprof: \"localhost:6060\" is not on loopback"},
		{"admin client blank", with("", "api:\n  admin_clients: ['']\n"), "api.admin_clients[0]:"},
		{"negative grace", with("", "api:\n  grace_period: -1s\n"), "api.grace_period:"},
		{"negative API streams", with("", "api:\n  max_streams: -1\n"), "api.max_streams:"},
		{"negative API queries", with("", "api:\n  max_queries: -1\n"), "api.max_queries:"},
		{"unknown backend", with("", "  backend: sqlite\n"), "ledger.backend:"},
		{"section of another backend", with("", "  fabric: {peer_address: 'p:7051'}\n"), "ledger.fabric: set, but backend is embedded-remote"},
		{"missing backend section", "msp_id: A\n", "ledger.remote: required"},
		{"remote fingerprint", with("9f86d0", "zz86d0"), "ledger.remote.tls_fingerprint:"},
		{"remote msp", with("RegulatorMSP", "Reg/MSP"), "ledger.remote.msp_id:"},
		{"embedded without consortium", "msp_id: A\nledger:\n  backend: embedded\n  embedded: {}\n", "ledger.embedded.consortium_file: required"},
		{"embedded negative governance", "msp_id: A\nledger:\n  backend: embedded\n  embedded: {consortium_file: c, governance_threshold: -1}\n", "ledger.embedded.governance_threshold:"},
		{"embedded governance over bound", "msp_id: A\nledger:\n  backend: embedded\n  embedded: {consortium_file: c, governance_threshold: 1001}\n", "ledger.embedded.governance_threshold:"},
		{"fabric without files", "msp_id: A\nledger:\n  backend: fabric\n  fabric: {peer_address: 'peer0:7051'}\n", "ledger.fabric.tls_root_cert: required"},
		{"negative registry refresh", with("", "registry:\n  refresh: -5s\n"), "registry.refresh:"},
		{"key storage", with("", "keys:\n  signing: tpm\n"), "keys.signing: \"tpm\" is not file or hsm"},
		{"hsm key without token", with("", "keys:\n  tls: hsm\n"), "keys.hsm: required"},
		{"hsm kek without token", with("", "at_rest:\n  kek: hsm\n"), "keys.hsm: required"},
		{"token without pin", with("", "keys:\n  oprf: hsm\n  hsm: {module: /lib/p11.so, token_label: node}\n"), "keys.hsm.pin_env: required"},
		{"passphrase without env", with("", "at_rest:\n  kek: passphrase\n"), "at_rest.passphrase_env: required"},
		{"unknown kek", with("", "at_rest:\n  kek: tpm\n"), "at_rest.kek:"},
		{"negative peer rate", with("", "peer:\n  request_rate: -1\n"), "peer.request_rate:"},
		{"negative peer streams", with("", "peer:\n  max_streams: -1\n"), "peer.max_streams:"},
		{"provider batch", with("", "provider:\n  max_batch: 70000\n"), "provider.max_batch:"},
		{"provider misbehave", with("", "provider:\n  misbehave: lie\n"), "provider.misbehave:"},
		{"serve unfed category", csv("  serve: {grey: [live]}\n"), "provider.serve.grey:"},
		{"serve no mode", csv("  serve: {black: []}\n"), "provider.serve.black:"},
		{"serve unknown mode", csv("  serve: {black: [catalog, push]}\n"), "provider.serve.black[1]:"},
		{"serve repeated mode", csv("  serve: {black: [live, live]}\n"), "provider.serve.black[1]:"},
		{"live batch", csv("  live_batch: 5000\n"), "provider.live_batch:"},
		{"negative live key burst", csv("  live_key_uploads: {burst: -1}\n"), "provider.live_key_uploads.burst:"},
		{"negative live key rate", csv("  live_key_uploads: {per_minute: -0.5}\n"), "provider.live_key_uploads.per_minute:"},
		{"negative live retry burst", csv("  live_retries: {burst: -1}\n"), "provider.live_retries.burst:"},
		{"negative live retry rate", csv("  live_retries: {per_minute: -2}\n"), "provider.live_retries.per_minute:"},
		{"requester mode", with("", "requester:\n  mode: push\n"), "requester.mode:"},
		{"negative exposure refresh", with("", "provider:\n  exposure_refresh: -1s\n"), "provider.exposure_refresh:"},
		{"exposure refresh too long", with("", "provider:\n  exposure_refresh: 2m\n"), "provider.exposure_refresh:"},
		{"outbox batch delay too long", with("", "outbox:\n  batch_delay: 1500ms\n"), "outbox.batch_delay: must be at most 1s"},
		{"duplicate key", csv(mapping + "      kind: xls\n"), "line 16: mapping key \"kind\" already defined"},
		{"source unknown kind", strings.Replace(csv(mapping), "kind: csv", "kind: xls", 1), "provider.sources[0].kind:"},
		{"source without mapping", csv(""), "provider.sources[0].mapping: required"},
		{"source mapping incomplete", csv("      mapping: {id: id, type: type}\n"), "provider.sources[0].mapping:"},
		{"source mapping type and fixed type", csv("      mapping: {id: id, type: t, fixed_type: phone, category: c, reason: r, listed: l}\n"), "exactly one of type column and fixed type"},
		{"source unknown fixed type", csv("      mapping: {id: id, fixed_type: fax, category: c, reason: r, listed: l}\n"), "unknown fixed type"},
		{"source code", strings.Replace(csv(mapping), "code: 1", "code: 256", 1), "provider.sources[0].code:"},
		{"source category", strings.Replace(csv(mapping), "category: black", "category: 'black list'", 1), "provider.sources[0].category:"},
		{"source file with dsn", csv(mapping + "      dsn: postgres:///x\n"), "provider.sources[0].dsn: only for kind postgres"},
		{"source without path", strings.Replace(csv(mapping), "path: a.csv", "refresh: 1h", 1), "provider.sources[0].path: required"},
		{"duplicate source name", strings.Replace(csv(mapping), "    - name: a\n", "    - name: a\n      category: grey\n      code: 2\n      kind: ndjson\n      path: b\n"+strings.Replace(mapping, "      ", "      ", 1)+"    - name: a\n", 1), "provider.sources[1].name:"},
		{"postgres without dsn", with("", "provider:\n  sources:\n    - {name: db, category: black, code: 1, kind: postgres, query: SELECT 1}\n"), "exactly one of dsn and dsn_env"},
		{"postgres with both dsn", with("", "provider:\n  sources:\n    - {name: db, category: black, code: 1, kind: postgres, query: SELECT 1, dsn: a, dsn_env: B}\n"), "exactly one of dsn and dsn_env"},
		{"postgres without query", with("", "provider:\n  sources:\n    - {name: db, category: black, code: 1, kind: postgres, dsn_env: B}\n"), "provider.sources[0].query: required"},
		{"postgres with mapping", with("", "provider:\n  sources:\n    - {name: db, category: black, code: 1, kind: postgres, dsn_env: B, query: SELECT 1, mapping: {id: x}}\n"), "provider.sources[0].mapping: not used"},
		{"requester category", with("", "requester:\n  categories: [black, 'a|b']\n"), "requester.categories[1]:"},
		{"requester max batch", with("", "requester:\n  max_batch: 65536\n"), "requester.max_batch:"},
		{"requester negative split", with("", "requester:\n  split_items: -1\n"), "requester.split_items:"},
		{"requester negative deadline", with("", "requester:\n  max_deadline: -1m\n"), "requester.max_deadline:"},
		{"requester negative late bound", with("", "requester:\n  max_late_answers: -1\n"), "requester.max_late_answers:"},
		{"disputes address without auditor", with("", "disputes:\n  auditor_address: a.example:7444\n"), "disputes.auditor_msp: required"},
		{"disputes auditor without address", with("", "disputes:\n  auditor_msp: RegulatorMSP\n"), "disputes.auditor_address: required"},
		{"disputes bad address", with("", "disputes:\n  auditor_msp: RegulatorMSP\n  auditor_address: nowhere\n"), "disputes.auditor_address:"},
		{"disputes own institution", with("", "disputes:\n  auditor_msp: Bank1MSP\n  auditor_address: a.example:7444\n"), "cannot audit its own"},
		{"disputes negative retry", with("", "disputes:\n  retry: -1s\n"), "disputes.retry:"},
		{"outbox batch", with("", "outbox:\n  batch_size: 1001\n"), "outbox.batch_size:"},
		{"push negative attempts", with("", "push:\n  max_attempts: -1\n"), "push.max_attempts:"},
		{"push without sender", with("", "push:\n  destinations:\n    - name: a\n"), "push.destinations[0]: exactly one of webhook, nats and kafka"},
		{"push kafka without brokers", with("", "push:\n  destinations:\n    - {name: a, kafka: {topic: t}}\n"), "push.destinations[0].kafka.brokers:"},
		{"push kafka broker without port", with("", "push:\n  destinations:\n    - {name: a, kafka: {brokers: [kafka1], topic: t}}\n"), "push.destinations[0].kafka.brokers[0]:"},
		{"push kafka bad topic", with("", "push:\n  destinations:\n    - {name: a, kafka: {brokers: ['k:9092'], topic: 'a/b'}}\n"), "push.destinations[0].kafka.topic:"},
		{"push kafka half a client cert", with("", "push:\n  destinations:\n    - {name: a, kafka: {brokers: ['k:9092'], topic: t, cert_file: c}}\n"), "push.destinations[0].kafka: cert_file and key_file"},
		{"push kafka plaintext with TLS", with("", "push:\n  destinations:\n    - {name: a, kafka: {brokers: ['k:9092'], topic: t, plaintext: true, ca_file: c}}\n"), "push.destinations[0].kafka.plaintext:"},
		{"push kafka user without password", with("", "push:\n  destinations:\n    - {name: a, kafka: {brokers: ['k:9092'], topic: t, user: u}}\n"), "push.destinations[0].kafka.password_file:"},
		{"push kafka and nats", with("", "push:\n  destinations:\n    - {name: a, kafka: {brokers: ['k:9092'], topic: t}, nats: {url: 'nats://a', subject: s}}\n"), "push.destinations[0]: exactly one"},
		{"push two senders", with("", "push:\n  destinations:\n    - name: a\n      webhook: {url: 'https://a', secret_file: s}\n      nats: {url: 'nats://a', subject: s}\n"), "push.destinations[0]: exactly one"},
		{"push http webhook", with("", "push:\n  destinations:\n    - {name: a, webhook: {url: 'http://a/x', secret_file: s}}\n"), "push.destinations[0].webhook.url: must be an https:// URL"},
		{"push webhook without secret", with("", "push:\n  destinations:\n    - {name: a, webhook: {url: 'https://a/x'}}\n"), "push.destinations[0].webhook.secret_file: required"},
		{"push nats wildcard", with("", "push:\n  destinations:\n    - {name: a, nats: {url: 'nats://a', subject: 'x.>'}}\n"), "push.destinations[0].nats.subject:"},
		{"push unknown event", with("", "push:\n  destinations:\n    - {name: a, events: [hits], nats: {url: 'nats://a', subject: x}}\n"), "push.destinations[0].events[0]:"},
		{"push duplicate name", with("", "push:\n  destinations:\n    - {name: a, nats: {url: 'nats://a', subject: x}}\n    - {name: a, nats: {url: 'nats://a', subject: y}}\n"), "push.destinations[1].name:"},
		{"push bad name", with("", "push:\n  destinations:\n    - {name: 'a b', nats: {url: 'nats://a', subject: x}}\n"), "push.destinations[0].name:"},
		{"push on the ledger host", "msp_id: A\nledger:\n  backend: embedded\n  embedded: {consortium_file: c}\npush:\n  destinations:\n    - {name: a, nats: {url: 'nats://a', subject: x}}\n", "push.destinations: the node hosting the embedded ledger"},
		{"reconcile list without mapping", with("", "reconcile:\n  lists:\n    - {name: loans, category: loans, code: 1, kind: csv, path: l.csv}\n"), "reconcile.lists[0].mapping: required"},
		{"reconcile list name", with("", "reconcile:\n  lists:\n    - {name: 'a b', category: loans, code: 1, kind: postgres, dsn: x, query: q}\n"), "reconcile.lists[0].name:"},
		{"reconcile grant of unknown list", with("", "reconcile:\n  grants:\n    - {requester: BankA, list: loans, modes: [both-learn]}\n"), "reconcile.grants[0].list:"},
		{"reconcile grant mode", with("", "reconcile:\n  lists:\n    - {name: loans, category: loans, code: 1, kind: postgres, dsn: x, query: q}\n  grants:\n    - {requester: BankA, list: loans, modes: [everyone-learns]}\n"), "reconcile.grants[0].modes:"},
		{"reconcile grant without modes", with("", "reconcile:\n  lists:\n    - {name: loans, category: loans, code: 1, kind: postgres, dsn: x, query: q}\n  grants:\n    - {requester: BankA, list: loans}\n"), "reconcile.grants[0].modes: name at least one"},
		{"reconcile chunk size", with("", "reconcile:\n  chunk_size: 65536\n"), "reconcile.chunk_size:"},
		{"negative retention", with("", "retention:\n  queries: -24h\n"), "retention.queries:"},
		{"log level", with("", "log:\n  level: verbose\n"), "log.level:"},
		{"log format", with("", "log:\n  format: xml\n"), "log.format:"},
		{"too large", minimal + "#" + strings.Repeat("x", MaxFileSize), "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.file)
			if err == nil {
				t.Fatalf("Parse succeeded, want an error containing %q", tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "config.") {
				t.Errorf("error %q names a Go type", err)
			}
		})
	}
}

func TestRejectsReportsEveryProblem(t *testing.T) {
	_, err := parse(t, "msp_id: 'a b'\nlog:\n  level: loud\n  format: xml\nledger:\n  backend: embedded\n  embedded: {}\n")
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	for _, key := range []string{"msp_id:", "log.level:", "log.format:", "ledger.embedded.consortium_file:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
}

func TestConnString(t *testing.T) {
	t.Setenv("RISKMESH_TEST_DSN", "postgres://u:secret@db/lists")
	s := Source{Name: "db", DSNEnv: "RISKMESH_TEST_DSN"}
	if got, err := s.ConnString(); err != nil || got != "postgres://u:secret@db/lists" {
		t.Errorf("ConnString = %q, %v", got, err)
	}
	s.DSNEnv = "RISKMESH_TEST_UNSET_DSN"
	if _, err := s.ConnString(); err == nil || !strings.Contains(err.Error(), "RISKMESH_TEST_UNSET_DSN") {
		t.Errorf("ConnString with unset variable: %v", err)
	}
	s = Source{DSN: "host=/run/postgresql dbname=lists"}
	if got, _ := s.ConnString(); got != s.DSN {
		t.Errorf("ConnString = %q", got)
	}
}

func TestSourceOpenReadsList(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "black.csv")
	if err := os.WriteFile(path, []byte("id,cat,reason,listed\n+8613800138000,1,7,2026-01-02\n+8613800138001,2,7,2026-01-02\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := Source{Name: "f", Category: "black", Code: 1, Kind: KindCSV, Path: path,
		Mapping: &Mapping{ID: "id", FixedType: "phone", Category: "cat", Reason: "reason", Listed: "listed"}}
	src, err := s.Open(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range src.Entries(t.Context(), 1) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d entries with code 1, want 1", n)
	}
}

// TestDocumentationExamples parses every node.yaml example in
// docs/configuration.md, so the documentation cannot drift from the code.
func TestDocumentationExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(doc), "```yaml\n")
	n := 0
	for _, p := range parts[1:] {
		block, _, ok := strings.Cut(p, "```")
		if !ok {
			t.Fatal("unterminated yaml block")
		}
		if !strings.HasPrefix(block, "msp_id:") {
			continue // the consortium file example
		}
		n++
		if _, err := Parse([]byte(block), "/etc/riskmesh"); err != nil {
			t.Errorf("example %d: %v\n%s", n, err, block)
		}
	}
	if n != 2 {
		t.Errorf("%d node.yaml examples found, want 2", n)
	}
}

// TestDocumentationListsEveryKey checks that docs/configuration.md names
// every key the decoder accepts.
func TestDocumentationListsEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	var walk func(typ reflect.Type, prefix string)
	walk = func(typ reflect.Type, prefix string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == reflect.TypeFor[time.Duration]() {
			return
		}
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !strings.Contains(string(doc), name+"`") && !strings.Contains(string(doc), name+":") {
				t.Errorf("docs/configuration.md does not mention %s%s", prefix, name)
			}
			walk(f.Type, prefix+name+".")
		}
	}
	walk(reflect.TypeFor[Config](), "")
}

// TestDefaultCallingCodeReadsNationalNumbers: identifiers.default_calling_code
// reaches a list source, so a national number in a list is stored as the
// international one, and an invalid code is refused under its key.
func TestDefaultCallingCodeReadsNationalNumbers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "black.csv")
	if err := os.WriteFile(path, []byte("id,cat,reason,listed\n13800138000,1,7,2026-01-02\n+86 138-0013-8000,1,7,2026-01-02\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	norm, err := Identifiers{DefaultCallingCode: "86"}.Normalizer()
	if err != nil {
		t.Fatal(err)
	}
	s := Source{Name: "f", Category: "black", Code: 1, Kind: KindCSV, Path: path,
		Mapping: &Mapping{ID: "id", FixedType: "phone", Category: "cat", Reason: "reason", Listed: "listed"}}
	src, err := s.Open(nil, norm)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for e, err := range src.Entries(t.Context(), 1) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID.String())
	}
	if len(ids) != 2 || ids[0] != "phone:+8613800138000" || ids[1] != ids[0] {
		t.Errorf("entries %v, want phone:+8613800138000 twice", ids)
	}

	for _, code := range []string{"086", "1234", "8a"} {
		_, err := parse(t, minimal+"identifiers:\n  default_calling_code: \""+code+"\"\n")
		if err == nil || !strings.Contains(err.Error(), "identifiers.default_calling_code") {
			t.Errorf("default_calling_code %q: %v", code, err)
		}
	}
}
