package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/outbox"
	"github.com/riskmesh/riskmesh/node/provider"
)

// Upper bounds checked here because a larger value cannot work: the
// transcript item count is 16 bits, the ledger takes 1000 entries per call.
const (
	maxItems       = 65535
	maxOutboxBatch = 1000
	maxSourceCode  = 255
)

// maxOutboxBatchDelay bounds outbox.batch_delay: every entry may reach the
// ledger that much later, and other providers see a requester's spending
// only once it is there, so the wait widens the window in which a
// requester can pass its overdraft limit (docs/ledger.md, "Overdraft limits
// during a period"); a second keeps that window within 1.5 times its
// default.
const maxOutboxBatchDelay = time.Second

// checker collects every problem, each under the dotted key it concerns,
// so an operator fixes a file in one pass.
type checker struct{ errs []error }

func (c *checker) fail(key, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%w: %s: %s", ErrInvalid, key, fmt.Sprintf(format, args...)))
}

func (c *checker) nonNegative(key string, v int64) {
	if v < 0 {
		c.fail(key, "must not be negative")
	}
}

func (c *checker) durations(prefix string, kv map[string]time.Duration) {
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		c.nonNegative(prefix+"."+k, int64(kv[k]))
	}
}

// liveBudget checks a per-requester token bucket (LiveBudget) under key.
func (c *checker) liveBudget(key string, b LiveBudget, burst int, perMinute float64) {
	if b.Burst < 0 {
		c.fail(key+".burst", "must be 0 (default %d) or more", burst)
	}
	if b.PerMinute < 0 {
		c.fail(key+".per_minute", "must be 0 (default %g) or more", perMinute)
	}
}

func (c *checker) hostPort(key, v string, needHost bool) {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		c.fail(key, "%q is not host:port", v)
		return
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (needHost && n == 0) {
		c.fail(key, "%q has no valid port", v)
	}
	if needHost && (host == "" || host == "0.0.0.0" || host == "::") {
		c.fail(key, "%q must name a host other nodes can reach", v)
	}
}

// loopback refuses a host:port whose host is not a loopback IP literal: a
// name may resolve elsewhere and an empty host listens on every interface.
// A malformed v is left to hostPort.
func (c *checker) loopback(key, v string) {
	host, _, err := net.SplitHostPort(v)
	if err != nil {
		return
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		c.fail(key, "%q is not on loopback (127.0.0.1 or [::1]): whoever reaches it can burn the node's CPU and record its requests' timing", v)
	}
}

func (c *checker) required(key, v string) bool {
	if v == "" {
		c.fail(key, "required")
		return false
	}
	return true
}

// Validate checks the whole configuration and returns every problem found
// (errors.Join), each wrapping ErrInvalid and naming its key.
func (cfg *Config) Validate() error {
	var c checker
	if !names.MSPID(cfg.MSPID) {
		c.fail("msp_id", "%q is not an MSP id ([A-Za-z0-9._-], 1 to %d bytes)", cfg.MSPID, names.MaxMSPIDLen)
	}
	c.required("data_dir", cfg.DataDir)
	c.required("identity_dir", cfg.IdentityDir)
	cfg.validateKeys(&c)
	if _, err := cfg.Identifiers.Normalizer(); err != nil {
		c.fail("identifiers.default_calling_code", "%q: 1 to 3 digits without a leading zero", cfg.Identifiers.DefaultCallingCode)
	}
	cfg.validateListen(&c)
	cfg.validateAPI(&c)
	cfg.validateLedger(&c)
	c.durations("registry", map[string]time.Duration{"refresh": cfg.Registry.Refresh, "timeout": cfg.Registry.Timeout})
	cfg.validatePeer(&c)
	cfg.validateProvider(&c)
	cfg.validateReconcile(&c)
	cfg.validateRequester(&c)
	cfg.validateDisputes(&c)
	cfg.validatePush(&c)
	o := cfg.Outbox
	if o.BatchSize < 0 || o.BatchSize > maxOutboxBatch {
		c.fail("outbox.batch_size", "must be 0 to %d", maxOutboxBatch)
	}
	c.durations("outbox", map[string]time.Duration{"min_backoff": o.MinBackoff, "max_backoff": o.MaxBackoff, "call_timeout": o.CallTimeout})
	if o.BatchDelay > maxOutboxBatchDelay {
		c.fail("outbox.batch_delay", "must be at most %v (0: default %v; negative: no wait)", maxOutboxBatchDelay, outbox.DefaultBatchDelay)
	}
	c.nonNegative("retention.queries", int64(cfg.Retention.Queries))
	switch cfg.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		c.fail("log.level", "%q is not debug, info, warn or error", cfg.Log.Level)
	}
	switch cfg.Log.Format {
	case "json", "text":
	default:
		c.fail("log.format", "%q is not json or text", cfg.Log.Format)
	}
	return errors.Join(c.errs...)
}

func (cfg *Config) validateListen(c *checker) {
	l := cfg.Listen
	if c.required("listen.peer", l.Peer) {
		c.hostPort("listen.peer", l.Peer, false)
	}
	if c.required("listen.endpoint", l.Endpoint) {
		c.hostPort("listen.endpoint", l.Endpoint, true)
	}
	if l.Metrics != Off && c.required("listen.metrics", l.Metrics) {
		c.hostPort("listen.metrics", l.Metrics, false)
	}
	if l.Pprof != Off && c.required("listen.pprof", l.Pprof) {
		c.hostPort("listen.pprof", l.Pprof, false)
		c.loopback("listen.pprof", l.Pprof)
	}
	switch network, addr := cfg.APINetwork(); network {
	case "unix":
		if addr == "" {
			c.fail("listen.api", "unix: needs a socket path")
		}
		if cfg.API.TLS != nil {
			c.fail("api.tls", "not used on a unix socket (its file mode is the access check)")
		}
	case "tcp":
		c.hostPort("listen.api", addr, false)
		if cfg.API.TLS == nil {
			c.fail("api.tls", "required when listen.api is tcp")
		}
	default:
		c.fail("listen.api", "%q is neither unix:PATH nor tcp:HOST:PORT", l.API)
	}
}

// APINetwork splits listen.api into a network ("unix" or "tcp") and an
// address for net.Listen; network is "" when the value is neither.
func (cfg *Config) APINetwork() (network, address string) {
	for _, n := range []string{"unix", "tcp"} {
		if addr, ok := strings.CutPrefix(cfg.Listen.API, n+":"); ok {
			return n, addr
		}
	}
	return "", ""
}

func (cfg *Config) validateAPI(c *checker) {
	a := cfg.API
	if t := a.TLS; t != nil {
		c.required("api.tls.cert", t.Cert)
		c.required("api.tls.key", t.Key)
		c.required("api.tls.client_ca", t.ClientCA)
	}
	for i, name := range a.AdminClients {
		if !names.Text(name, 256) {
			c.fail(fmt.Sprintf("api.admin_clients[%d]", i), "must be 1 to 256 printable ASCII characters")
		}
	}
	c.nonNegative("api.max_identifiers", int64(a.MaxIdentifiers))
	c.nonNegative("api.max_providers", int64(a.MaxProviders))
	c.nonNegative("api.max_streams", int64(a.MaxStreams))
	c.nonNegative("api.max_queries", int64(a.MaxQueries))
	c.nonNegative("api.grace_period", int64(a.GracePeriod))
}

func (cfg *Config) validateLedger(c *checker) {
	l := cfg.Ledger
	sections := map[string]bool{BackendEmbedded: l.Embedded != nil, BackendEmbeddedRemote: l.Remote != nil, BackendFabric: l.Fabric != nil}
	keys := map[string]string{BackendEmbedded: "ledger.embedded", BackendEmbeddedRemote: "ledger.remote", BackendFabric: "ledger.fabric"}
	if _, ok := sections[l.Backend]; !ok {
		c.fail("ledger.backend", "%q is not embedded, embedded-remote or fabric", l.Backend)
		return
	}
	for _, backend := range slices.Sorted(maps.Keys(sections)) {
		present := sections[backend]
		switch {
		case backend == l.Backend && !present:
			c.fail(keys[backend], "required for backend %s", l.Backend)
		case backend != l.Backend && present:
			c.fail(keys[backend], "set, but backend is %s", l.Backend)
		}
	}
	if e := l.Embedded; e != nil && l.Backend == BackendEmbedded {
		c.required("ledger.embedded.path", e.Path)
		c.required("ledger.embedded.consortium_file", e.ConsortiumFile)
		if _, err := chaincode.GenesisThreshold(strconv.Itoa(e.GovernanceThreshold)); err != nil {
			c.fail("ledger.embedded.governance_threshold", "%d: 0 (the regulator decides) or 1 to %d members", e.GovernanceThreshold, chaincode.MaxThreshold)
		}
	}
	if r := l.Remote; r != nil && l.Backend == BackendEmbeddedRemote {
		if !names.MSPID(r.MSPID) {
			c.fail("ledger.remote.msp_id", "%q is not an MSP id", r.MSPID)
		}
		if c.required("ledger.remote.endpoint", r.Endpoint) {
			c.hostPort("ledger.remote.endpoint", r.Endpoint, true)
		}
		if _, err := identity.ParseFingerprint(r.TLSFingerprint); err != nil {
			c.fail("ledger.remote.tls_fingerprint", "%v", err)
		}
	}
	if f := l.Fabric; f != nil && l.Backend == BackendFabric {
		if c.required("ledger.fabric.peer_address", f.PeerAddress) {
			c.hostPort("ledger.fabric.peer_address", f.PeerAddress, true)
		}
		c.required("ledger.fabric.tls_root_cert", f.TLSRootCert)
		c.required("ledger.fabric.certificate", f.Certificate)
		c.required("ledger.fabric.private_key", f.PrivateKey)
		c.nonNegative("ledger.fabric.max_in_flight", int64(f.MaxInFlight))
		c.nonNegative("ledger.fabric.max_attempts", int64(f.MaxAttempts))
		c.durations("ledger.fabric", map[string]time.Duration{
			"backoff": f.Backoff, "max_backoff": f.MaxBackoff, "endorse_timeout": f.EndorseTimeout,
			"submit_timeout": f.SubmitTimeout, "commit_status_timeout": f.CommitStatusTimeout, "evaluate_timeout": f.EvaluateTimeout,
		})
	}
}

func (cfg *Config) validatePeer(c *checker) {
	p := cfg.Peer
	c.durations("peer", map[string]time.Duration{
		"handshake_timeout": p.HandshakeTimeout, "idle_timeout": p.IdleTimeout, "read_timeout": p.ReadTimeout,
		"handle_timeout": p.HandleTimeout, "write_timeout": p.WriteTimeout,
	})
	c.nonNegative("peer.max_streams", int64(p.MaxStreams))
	c.nonNegative("peer.max_conns_per_peer", int64(p.MaxConnsPerPeer))
	if p.RequestRate < 0 {
		c.fail("peer.request_rate", "must not be negative")
	}
	c.nonNegative("peer.request_burst", int64(p.RequestBurst))
	c.nonNegative("peer.max_request_size", int64(p.MaxRequestSize))
}

func (cfg *Config) validateProvider(c *checker) {
	p := cfg.Provider
	if p.MaxBatch < 0 || p.MaxBatch > maxItems {
		c.fail("provider.max_batch", "must be 0 to %d", maxItems)
	}
	c.nonNegative("provider.retry_build", int64(p.RetryBuild))
	if p.ExposureRefresh < 0 || p.ExposureRefresh > provider.MaxExposureRefresh {
		c.fail("provider.exposure_refresh", "must be 0 (default %v) to %v", provider.DefaultExposureRefresh, provider.MaxExposureRefresh)
	}
	if p.Misbehave != "" && p.Misbehave != MisbehaveCorruptEvaluation {
		c.fail("provider.misbehave", "%q is not %q (the only value; leave it empty on a real node)", p.Misbehave, MisbehaveCorruptEvaluation)
	}
	fed := map[string]bool{}
	for _, s := range p.Sources {
		fed[s.Category] = true
	}
	for cat, modes := range p.Serve {
		key := "provider.serve." + cat
		if !fed[cat] {
			c.fail(key, "no source feeds category %q", cat)
		}
		if len(modes) == 0 {
			c.fail(key, "name %q, %q or both", ServeCatalog, ServeLive)
		}
		for i, m := range modes {
			if (m != ServeCatalog && m != ServeLive) || slices.Contains(modes[:i], m) {
				c.fail(fmt.Sprintf("%s[%d]", key, i), "%q is not %q or %q, or repeats", m, ServeCatalog, ServeLive)
			}
		}
	}
	if p.LiveBatch < 0 || p.LiveBatch > provider.MaxLiveBatch {
		c.fail("provider.live_batch", "must be 0 (default 1024) to %d", provider.MaxLiveBatch)
	}
	c.liveBudget("provider.live_key_uploads", p.LiveKeyUploads, provider.DefaultLiveKeyBurst, provider.DefaultLiveKeyPerMinute)
	c.liveBudget("provider.live_retries", p.LiveRetries, provider.DefaultLiveRetryBurst, provider.DefaultLiveRetryPerMinute)
	seen := map[string]bool{}
	for i := range p.Sources {
		s := &p.Sources[i]
		key := fmt.Sprintf("provider.sources[%d]", i)
		if !names.Word(s.Name, 64) {
			c.fail(key+".name", "must be 1 to 64 printable ASCII characters without spaces")
		} else if seen[s.Name] {
			c.fail(key+".name", "%q used by an earlier source", s.Name)
		}
		seen[s.Name] = true
		s.validate(c, key)
	}
}

// validate checks a source's fields other than its name, whose rules
// differ between provider sources and reconciliation lists.
func (s *Source) validate(c *checker, key string) {
	if !names.Category(s.Category) {
		c.fail(key+".category", "%q is not a category name ([A-Za-z0-9._-])", s.Category)
	}
	if s.Code < 1 || s.Code > maxSourceCode {
		c.fail(key+".code", "must be 1 to %d", maxSourceCode)
	}
	c.nonNegative(key+".max_record_bytes", int64(s.MaxRecordBytes))
	c.nonNegative(key+".max_field_bytes", int64(s.MaxFieldBytes))
	c.nonNegative(key+".refresh", int64(s.Refresh))
	s.validateKind(c, key)
}

func (s *Source) validateKind(c *checker, key string) {
	switch s.Kind {
	case KindCSV, KindTSV, KindNDJSON:
		c.required(key+".path", s.Path)
		for _, f := range []struct{ k, v string }{{"dsn", s.DSN}, {"dsn_env", s.DSNEnv}, {"query", s.Query}} {
			if f.v != "" {
				c.fail(key+"."+f.k, "only for kind postgres")
			}
		}
		if s.Mapping == nil {
			c.fail(key+".mapping", "required for kind %s", s.Kind)
			return
		}
		// node/lists validates the mapping and limits without opening
		// the file; its message says what is wrong.
		if _, err := s.Open(nil, nil); err != nil {
			c.fail(key+".mapping", "%v", errors.Unwrap(err))
		}
	case KindPostgres:
		c.required(key+".query", s.Query)
		if (s.DSN == "") == (s.DSNEnv == "") {
			c.fail(key+".dsn", "exactly one of dsn and dsn_env is required")
		}
		if s.Path != "" {
			c.fail(key+".path", "not used by kind postgres")
		}
		if s.Mapping != nil {
			c.fail(key+".mapping", "not used by kind postgres (the query's column order is the mapping)")
		}
		if s.MaxRecordBytes != 0 {
			c.fail(key+".max_record_bytes", "not used by kind postgres")
		}
	default:
		c.fail(key+".kind", "%q is not csv, tsv, ndjson or postgres", s.Kind)
	}
}

func (cfg *Config) validateDisputes(c *checker) {
	d := cfg.Disputes
	c.nonNegative("disputes.retry", int64(d.Retry))
	switch {
	case d.AuditorMSP == "" && d.AuditorAddress != "":
		c.fail("disputes.auditor_msp", "required with disputes.auditor_address")
	case d.AuditorMSP == "":
	case !names.MSPID(d.AuditorMSP):
		c.fail("disputes.auditor_msp", "%q is not an MSP id", d.AuditorMSP)
	case d.AuditorMSP == cfg.MSPID:
		c.fail("disputes.auditor_msp", "an institution cannot audit its own disputes")
	case c.required("disputes.auditor_address", d.AuditorAddress):
		c.hostPort("disputes.auditor_address", d.AuditorAddress, true)
	}
}

func (cfg *Config) validateRequester(c *checker) {
	r := cfg.Requester
	for i, cat := range r.Categories {
		if !names.Category(cat) {
			c.fail(fmt.Sprintf("requester.categories[%d]", i), "%q is not a category name", cat)
		}
	}
	if r.MaxBatch < 0 || r.MaxBatch > maxItems {
		c.fail("requester.max_batch", "must be 0 to %d", maxItems)
	}
	if r.SplitItems < 0 || r.SplitItems > maxItems {
		c.fail("requester.split_items", "must be 0 (never split) to %d", maxItems)
	}
	switch r.Mode {
	case "", ModeAuto, ModeCatalog, ModeLive:
	default:
		c.fail("requester.mode", "%q is not %q, %q or %q", r.Mode, ModeAuto, ModeCatalog, ModeLive)
	}
	c.nonNegative("requester.max_identifiers", int64(r.MaxIdentifiers))
	c.nonNegative("requester.max_late_answers", int64(r.MaxLateAnswers))
	c.nonNegative("requester.catalog_max_bytes", r.CatalogMaxBytes)
	c.nonNegative("requester.catalog_resident_bytes", r.CatalogResidentBytes)
	c.durations("requester", map[string]time.Duration{
		"default_deadline": r.DefaultDeadline, "max_deadline": r.MaxDeadline, "retry_backoff": r.RetryBackoff,
		"max_retry_backoff": r.MaxRetryBackoff, "catalog_retry": r.CatalogRetry, "max_catalog_retry": r.MaxCatalogRetry,
		"non_delivery_after": r.NonDeliveryAfter,
		"phase_timeout":      r.PhaseTimeout,
	})
}
