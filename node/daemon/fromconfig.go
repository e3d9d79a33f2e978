package daemon

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/riskmesh/riskmesh/accounting/fabric"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/node/mirror"
	"github.com/riskmesh/riskmesh/node/outbox"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/node/push"
	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/node/requester"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// FromConfig turns a loaded node.yaml into the daemon's Config: this file is
// where every node.yaml section becomes its component's settings (node/config
// only reads, defaults and checks the file). It reads the
// files the configuration names (API TLS material, Fabric credentials); a
// postgres source connects at each refresh (pgQuerier), so a database that
// is down fails that refresh, not the node's start.
//
// The node runs the requester side unless it hosts the embedded ledger (the
// regulator's node, which does not query), and the provider side when the
// configuration lists sources.
func FromConfig(c *config.Config) (Config, error) {
	var err error
	cfg := Config{
		MSPID: c.MSPID, DataDir: c.DataDir, IdentityDir: c.IdentityDir,
		PeerListen: c.Listen.Peer, PeerEndpoint: c.Listen.Endpoint, Peer: peerConfig(c.Peer),
		API: api.Config{
			MaxIdentifiers: c.API.MaxIdentifiers, MaxProviders: c.API.MaxProviders,
			MaxStreams: c.API.MaxStreams, MaxQueries: c.API.MaxQueries,
			AdminClients: c.API.AdminClients, GracePeriod: c.API.GracePeriod,
		},
		Registry: registry.Options{Refresh: c.Registry.Refresh, Timeout: c.Registry.Timeout},
		Ledger:   LedgerConfig{Backend: c.Ledger.Backend},
		Outbox:   outboxConfig(c.Outbox),
	}
	if cfg.Keys, err = keysConfig(c); err != nil {
		return cfg, err
	}
	if c.Listen.Metrics != config.Off {
		cfg.MetricsListen = c.Listen.Metrics
	}
	if c.Listen.Pprof != config.Off {
		cfg.PprofListen = c.Listen.Pprof
	}
	if sock, ok := strings.CutPrefix(c.Listen.API, "unix:"); ok {
		cfg.APISocket = sock
	} else {
		cfg.APIListen = strings.TrimPrefix(c.Listen.API, "tcp:")
		if cfg.APITLS, err = apiTLS(c.API.TLS); err != nil {
			return cfg, err
		}
	}

	switch c.Ledger.Backend {
	case config.BackendEmbedded:
		cfg.Ledger.Path, cfg.Ledger.ConsortiumFile = c.Ledger.Embedded.Path, c.Ledger.Embedded.ConsortiumFile
		if cfg.Ledger.Genesis, err = chaincode.GenesisThreshold(strconv.Itoa(c.Ledger.Embedded.GovernanceThreshold)); err != nil {
			return cfg, fmt.Errorf("ledger.embedded.governance_threshold: %w", err)
		}
	case config.BackendEmbeddedRemote:
		r := c.Ledger.Remote
		cfg.Ledger.HostMSPID, cfg.Ledger.HostEndpoint = r.MSPID, r.Endpoint
		if cfg.Ledger.HostFingerprint, err = identity.ParseFingerprint(r.TLSFingerprint); err != nil {
			return cfg, fmt.Errorf("ledger.remote.tls_fingerprint: %w", err)
		}
	case config.BackendFabric:
		if cfg.Ledger.Fabric, err = fabricConfig(c.Ledger.Fabric, c.MSPID); err != nil {
			return cfg, err
		}
	}

	if c.Ledger.Backend != config.BackendEmbedded {
		r := c.Requester
		cfg.Requester = &requester.Config{
			BatchWindow: r.BatchWindow, MaxBatch: r.MaxBatch, SplitItems: r.SplitItems,
			MaxIdentifiers: r.MaxIdentifiers, DefaultDeadline: r.DefaultDeadline, MaxDeadline: r.MaxDeadline,
			RetryBackoff: r.RetryBackoff, MaxRetryBackoff: r.MaxRetryBackoff, PhaseTimeout: r.PhaseTimeout,
			LateAnswerWindow: r.LateAnswerWindow, MaxLateAnswers: r.MaxLateAnswers,
			Identifiers:       c.Identifiers.IdentConfig(),
			ReconcileInterval: r.ReconcileInterval, NonDeliveryAfter: r.NonDeliveryAfter,
			QueryRetention: c.Retention.Queries, TranscriptPeriods: c.Retention.TranscriptPeriods,
			Mode: queryModes[r.Mode],
		}
		cfg.Mirror = mirror.Config{
			Categories: r.Categories, CatalogRetry: r.CatalogRetry, MaxCatalogRetry: r.MaxCatalogRetry,
			CatalogMaxBytes: r.CatalogMaxBytes, PhaseTimeout: r.PhaseTimeout,
			RetryBackoff: r.RetryBackoff, MaxRetryBackoff: r.MaxRetryBackoff,
		}
		cfg.CatalogResidentBytes = r.CatalogResidentBytes
		if d := c.Disputes; d.AuditorMSP != "" {
			cfg.Disputes = &DisputeConfig{AuditorMSP: d.AuditorMSP, AuditorAddress: d.AuditorAddress, Retry: d.Retry}
		}
		if cfg.Push, err = pushConfig(c.Push); err != nil {
			return cfg, err
		}
	}
	norm, err := c.Identifiers.Normalizer()
	if err != nil {
		return cfg, fmt.Errorf("identifiers: %w", err)
	}
	if len(c.Provider.Sources) > 0 {
		p := &provider.Config{
			MaxBatch: c.Provider.MaxBatch, RetryBuild: c.Provider.RetryBuild, RetainPeriods: c.Retention.TranscriptPeriods,
			ExposureRefresh:   c.Provider.ExposureRefresh,
			CorruptEvaluation: c.Provider.Misbehave == config.MisbehaveCorruptEvaluation,
			LiveBatch:         c.Provider.LiveBatch,
			LiveKeyUploads:    provider.LiveBudget(c.Provider.LiveKeyUploads),
			LiveRetries:       provider.LiveBudget(c.Provider.LiveRetries),
			Serve:             serveModes(c.Provider.Serve),
		}
		cfg.SourceRefresh = map[string]time.Duration{}
		for i := range c.Provider.Sources {
			s := &c.Provider.Sources[i]
			src, err := openSource(s, norm)
			if err != nil {
				return cfg, err
			}
			ps := provider.Source{Name: s.Name, Category: s.Category, Code: uint8(s.Code), Source: src}
			if s.Kind != config.KindPostgres {
				// An imported file is read with this source's format,
				// mapping and limits; a database source's rows belong in
				// the database, so it takes no imports.
				ps.ImportFile = func(path string) (lists.Source, error) {
					file := *s
					file.Path = path
					return file.Open(nil, norm)
				}
			}
			p.Sources = append(p.Sources, ps)
			if s.Refresh > 0 {
				cfg.SourceRefresh[s.Name] = s.Refresh
			}
		}
		cfg.Provider = p
		for _, m := range p.Serve {
			if m&provider.ServeLive != 0 && c.Peer.MaxRequestSize == 0 {
				// A live query is larger than any catalog-PSI request.
				cfg.Peer.MaxRequestSize = riskmeshv1.MaxLiveQuerySize
			}
		}
	}
	if cfg.Reconcile, err = reconcileConfig(&c.Reconcile, norm); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// openSource opens a list source, with its database connection when it
// queries PostgreSQL.
func openSource(s *config.Source, norm *ident.Normalizer) (lists.Source, error) {
	var db lists.Querier
	if s.Kind == config.KindPostgres {
		dsn, err := s.ConnString()
		if err != nil {
			return nil, err
		}
		db = pgQuerier{dsn: dsn}
	}
	return s.Open(db, norm)
}

// reconcileConfig turns the reconcile section into node/recon's Config;
// nil when it names no list and no grant.
func reconcileConfig(r *config.Reconcile, norm *ident.Normalizer) (*recon.Config, error) {
	if len(r.Lists) == 0 && len(r.Grants) == 0 {
		return nil, nil
	}
	rc := &recon.Config{ChunkSize: r.ChunkSize, MaxSessions: r.MaxSessions, IdleTimeout: r.IdleTimeout}
	for i := range r.Lists {
		s := &r.Lists[i]
		src, err := openSource(s, norm)
		if err != nil {
			return nil, err
		}
		rc.Lists = append(rc.Lists, recon.List{Name: s.Name, Category: s.Category, Code: uint8(s.Code), Source: src})
	}
	for _, g := range r.Grants {
		grant := recon.Grant{Requester: g.Requester, List: g.List, ShareLabels: g.ShareLabels}
		for _, m := range g.Modes {
			grant.Protocols = append(grant.Protocols, recon.Protocol(m))
		}
		rc.Grants = append(rc.Grants, grant)
	}
	return rc, nil
}

// peerConfig returns the peer transport's tuning; the daemon adds the
// certificate, authorizer and handler.
func peerConfig(p config.Peer) peer.Config {
	return peer.Config{
		HandshakeTimeout: p.HandshakeTimeout,
		IdleTimeout:      p.IdleTimeout,
		ReadTimeout:      p.ReadTimeout,
		HandleTimeout:    p.HandleTimeout,
		WriteTimeout:     p.WriteTimeout,
		MaxStreams:       p.MaxStreams,
		MaxConnsPerPeer:  p.MaxConnsPerPeer,
		RequestRate:      p.RequestRate,
		RequestBurst:     p.RequestBurst,
		MaxRequestSize:   p.MaxRequestSize,
	}
}

// outboxConfig returns the submitter's tuning; the daemon adds the
// ledger and logger.
func outboxConfig(o config.Outbox) outbox.Config {
	return outbox.Config{
		BatchSize:   o.BatchSize,
		MinBackoff:  o.MinBackoff,
		MaxBackoff:  o.MaxBackoff,
		CallTimeout: o.CallTimeout,
		BatchDelay:  o.BatchDelay,
	}
}

// pushConfig builds the push destinations, reading their secret and CA
// files; nil if none is configured.
func pushConfig(p config.Push) (*push.Config, error) {
	if len(p.Destinations) == 0 {
		return nil, nil
	}
	cfg := &push.Config{MaxAttempts: p.MaxAttempts, MinBackoff: p.MinBackoff, MaxBackoff: p.MaxBackoff}
	for i, d := range p.Destinations {
		key := fmt.Sprintf("push.destinations[%d]", i)
		dest := push.Destination{Name: d.Name, Categories: d.Categories}
		for _, e := range d.Events {
			dest.Events = append(dest.Events, riskmeshv1.PushEventType(riskmeshv1.PushEventType_value["PUSH_EVENT_TYPE_"+strings.ToUpper(e)]))
		}
		var err error
		switch {
		case d.Webhook != nil:
			dest.Sender, err = webhookSender(key+".webhook", d.Webhook)
		case d.Kafka != nil:
			dest.Sender, err = kafkaSender(key+".kafka", d.Kafka)
		default:
			dest.Sender, err = natsSender(key+".nats", d.NATS)
		}
		if err != nil {
			return nil, err
		}
		cfg.Destinations = append(cfg.Destinations, dest)
	}
	return cfg, nil
}

func webhookSender(key string, w *config.Webhook) (*push.Webhook, error) {
	secret, err := readPEMFile(key+".secret_file", w.SecretFile, true)
	if err != nil {
		return nil, err
	}
	wc := push.WebhookConfig{URL: w.URL, Secret: bytes.TrimSpace(secret), Timeout: w.Timeout}
	if w.CAFile != "" {
		if wc.TLS, err = clientTLS(key, w.CAFile); err != nil {
			return nil, err
		}
	}
	hook, err := push.NewWebhook(wc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return hook, nil
}

func natsSender(key string, n *config.NATS) (*push.JetStream, error) {
	if n.CredsFile != "" {
		// Checked here so a readable-by-all credentials file stops the
		// start; the NATS client reads it at each connect.
		if _, err := readPEMFile(key+".creds_file", n.CredsFile, true); err != nil {
			return nil, err
		}
	}
	js, err := push.NewJetStream(push.JetStreamConfig{URL: n.URL, Subject: n.Subject, CredsFile: n.CredsFile, CAFile: n.CAFile, Timeout: n.Timeout})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return js, nil
}

// clientTLS is a client TLS configuration trusting the CA certificates in
// caFile (the system's roots if empty), for the destination at key.
func clientTLS(key, caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	caPEM, err := readPEMFile(key+".ca_file", caFile, false)
	if err != nil {
		return nil, err
	}
	cfg.RootCAs = x509.NewCertPool()
	if !cfg.RootCAs.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s.ca_file: %s holds no PEM certificate", key, caFile)
	}
	return cfg, nil
}

func kafkaSender(key string, k *config.Kafka) (*push.Kafka, error) {
	kc := push.KafkaConfig{Brokers: k.Brokers, Topic: k.Topic, User: k.User, Timeout: k.Timeout}
	if !k.Plaintext {
		var err error
		if kc.TLS, err = clientTLS(key, k.CAFile); err != nil {
			return nil, err
		}
		if k.CertFile != "" {
			certPEM, err := readPEMFile(key+".cert_file", k.CertFile, false)
			if err != nil {
				return nil, err
			}
			keyPEM, err := readPEMFile(key+".key_file", k.KeyFile, true)
			if err != nil {
				return nil, err
			}
			cert, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				return nil, fmt.Errorf("%s: client certificate: %w", key, err)
			}
			kc.TLS.Certificates = []tls.Certificate{cert}
		}
	}
	if k.User != "" {
		pass, err := readPEMFile(key+".password_file", k.PasswordFile, true)
		if err != nil {
			return nil, err
		}
		kc.Password = string(bytes.TrimSpace(pass))
	}
	kafka, err := push.NewKafka(kc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return kafka, nil
}

// maxPEMFile bounds a PEM or secret file named by the configuration.
const maxPEMFile = 64 << 10

// fabricConfig reads the PEM files the ledger.fabric section names and
// returns the Fabric client configuration for the institution mspID. The
// private key file must not be accessible to group or others.
func fabricConfig(f *config.Fabric, mspID string) (fabric.Config, error) {
	root, err := readPEMFile("ledger.fabric.tls_root_cert", f.TLSRootCert, false)
	if err != nil {
		return fabric.Config{}, err
	}
	cert, err := readPEMFile("ledger.fabric.certificate", f.Certificate, false)
	if err != nil {
		return fabric.Config{}, err
	}
	key, err := readPEMFile("ledger.fabric.private_key", f.PrivateKey, true)
	if err != nil {
		return fabric.Config{}, err
	}
	return fabric.Config{
		MSPID:               mspID,
		PeerAddress:         f.PeerAddress,
		TLSRootCert:         root,
		ServerName:          f.ServerName,
		Certificate:         cert,
		PrivateKey:          key,
		Channel:             f.Channel,
		Chaincode:           f.Chaincode,
		MaxInFlight:         f.MaxInFlight,
		MaxAttempts:         f.MaxAttempts,
		Backoff:             f.Backoff,
		MaxBackoff:          f.MaxBackoff,
		EndorseTimeout:      f.EndorseTimeout,
		SubmitTimeout:       f.SubmitTimeout,
		CommitStatusTimeout: f.CommitStatusTimeout,
		EvaluateTimeout:     f.EvaluateTimeout,
	}, nil
}

// readPEMFile reads a PEM or secret file named by key, at most maxPEMFile
// bytes; a private one must be 0600 or stricter.
func readPEMFile(key, path string, private bool) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	defer fh.Close()
	if private {
		st, err := fh.Stat()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%s: %s has mode %04o, want 0600", key, path, st.Mode().Perm())
		}
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxPEMFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if len(data) > maxPEMFile {
		return nil, fmt.Errorf("%s: %s exceeds %d bytes", key, path, maxPEMFile)
	}
	return data, nil
}

// Logger returns the slog logger node.yaml's log section describes,
// writing to w (the node's standard error).
func Logger(l config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	// config.Load has checked the name; UnmarshalText accepts all four.
	_ = level.UnmarshalText([]byte(l.Level))
	opts := &slog.HandlerOptions{Level: level}
	if l.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// apiTLS loads the TCP API's certificate and client CA: TLS 1.3, client
// certificates required and verified against the institution's client CA.
func apiTLS(t *config.APITLS) (*tls.Config, error) {
	if t == nil {
		return nil, fmt.Errorf("api.tls: required for a tcp API")
	}
	pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
	if err != nil {
		return nil, fmt.Errorf("api.tls: %w", err)
	}
	caPEM, err := os.ReadFile(t.ClientCA)
	if err != nil {
		return nil, fmt.Errorf("api.tls.client_ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("api.tls.client_ca: %s holds no PEM certificate", t.ClientCA)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: pool, MinVersion: tls.VersionTLS13,
	}, nil
}

// keysConfig reads the keys and at_rest sections; the PIN and the
// passphrase come from the environment variables they name.
func keysConfig(c *config.Config) (KeysConfig, error) {
	storage := func(v string) identity.Storage {
		if v == config.StorageHSM {
			return identity.InToken
		}
		return identity.InFile
	}
	k := KeysConfig{Place: identity.Placement{
		Signing: storage(c.Keys.Signing), TLS: storage(c.Keys.TLS), OPRF: storage(c.Keys.OPRF),
	}}
	if h := c.Keys.HSM; h != nil {
		pin := h.PIN()
		if pin == "" {
			return k, fmt.Errorf("keys.hsm.pin_env: environment variable %s is not set", h.PINEnv)
		}
		k.HSM = &identity.TokenConfig{Module: h.Module, Label: h.TokenLabel, PIN: pin}
	}
	switch c.AtRest.KEK {
	case config.KEKHSM:
		k.AtRest = AtRestHSM
	case config.KEKPass:
		pass := c.AtRest.Passphrase()
		if pass == "" {
			return k, fmt.Errorf("at_rest.passphrase_env: environment variable %s is not set", c.AtRest.PassphraseEnv)
		}
		k.AtRest, k.Passphrase = AtRestPassphrase, []byte(pass)
	}
	return k, nil
}

// LoadConfig reads the node.yaml at path and turns it into the daemon's
// settings, which the node and every tool acting as its institution start
// from.
func LoadConfig(path string) (*config.Config, Config, error) {
	c, err := config.Load(path)
	if err != nil {
		return nil, Config{}, err
	}
	cfg, err := FromConfig(c)
	return c, cfg, err
}

// serveModes converts node.yaml's provider.serve lists (validated) to the
// provider's mode sets.
func serveModes(serve map[string][]string) map[string]provider.ServeMode {
	if len(serve) == 0 {
		return nil
	}
	out := make(map[string]provider.ServeMode, len(serve))
	for cat, modes := range serve {
		for _, m := range modes {
			switch m {
			case config.ServeCatalog:
				out[cat] |= provider.ServeCatalog
			case config.ServeLive:
				out[cat] |= provider.ServeLive
			}
		}
	}
	return out
}

// queryModes maps node.yaml's requester.mode (validated) to the query
// mode; empty is the requester's default.
var queryModes = map[string]riskmeshv1.QueryMode{
	config.ModeAuto:    riskmeshv1.QueryMode_QUERY_MODE_AUTO,
	config.ModeCatalog: riskmeshv1.QueryMode_QUERY_MODE_CATALOG,
	config.ModeLive:    riskmeshv1.QueryMode_QUERY_MODE_LIVE,
}
