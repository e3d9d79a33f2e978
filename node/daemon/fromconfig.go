package daemon

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/node/requester"
)

// FromConfig turns a loaded node.yaml into the daemon's Config. It reads the
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
		PeerListen: c.Listen.Peer, PeerEndpoint: c.Listen.Endpoint, Peer: c.Peer.PeerConfig(),
		API: api.Config{
			MaxIdentifiers: c.API.MaxIdentifiers, MaxProviders: c.API.MaxProviders,
			AdminClients: c.API.AdminClients, GracePeriod: c.API.GracePeriod,
		},
		Registry: registry.Options{Refresh: c.Registry.Refresh, Timeout: c.Registry.Timeout},
		Ledger:   LedgerConfig{Backend: c.Ledger.Backend},
	}
	if c.Listen.Metrics != config.MetricsOff {
		cfg.MetricsListen = c.Listen.Metrics
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
	case config.BackendEmbeddedRemote:
		r := c.Ledger.Remote
		cfg.Ledger.HostMSPID, cfg.Ledger.HostEndpoint = r.MSPID, r.Endpoint
		var err error
		if cfg.Ledger.HostFingerprint, err = r.Fingerprint(); err != nil {
			return cfg, fmt.Errorf("ledger.remote.tls_fingerprint: %w", err)
		}
	case config.BackendFabric:
		if cfg.Ledger.Fabric, err = c.Ledger.Fabric.FabricConfig(c.MSPID); err != nil {
			return cfg, err
		}
	}

	if c.Ledger.Backend != config.BackendEmbedded {
		r := c.Requester
		cfg.Requester = &requester.Config{
			Categories: r.Categories, BatchWindow: r.BatchWindow, MaxBatch: r.MaxBatch,
			MaxIdentifiers: r.MaxIdentifiers, DefaultDeadline: r.DefaultDeadline, MaxDeadline: r.MaxDeadline,
			RetryBackoff: r.RetryBackoff, MaxRetryBackoff: r.MaxRetryBackoff,
			CatalogRetry: r.CatalogRetry, MaxCatalogRetry: r.MaxCatalogRetry,
			CatalogMaxBytes: r.CatalogMaxBytes, PhaseTimeout: r.PhaseTimeout,
			LateAnswerWindow: r.LateAnswerWindow, MaxLateAnswers: r.MaxLateAnswers,
			Identifiers:       c.Identifiers.IdentConfig(),
			ReconcileInterval: r.ReconcileInterval, NonDeliveryAfter: r.NonDeliveryAfter,
			QueryRetention: c.Retention.Queries, TranscriptPeriods: c.Retention.TranscriptPeriods,
		}
		if d := c.Disputes; d.AuditorMSP != "" {
			cfg.Disputes = &DisputeConfig{AuditorMSP: d.AuditorMSP, AuditorAddress: d.AuditorAddress, Retry: d.Retry}
		}
	}
	norm, err := c.Identifiers.Normalizer()
	if err != nil {
		return cfg, fmt.Errorf("identifiers: %w", err)
	}
	if len(c.Provider.Sources) > 0 {
		p := &provider.Config{
			Outbox: c.Outbox.OutboxConfig(), MaxBatch: c.Provider.MaxBatch,
			RetryBuild: c.Provider.RetryBuild, RetainPeriods: c.Retention.TranscriptPeriods,
			ExposureRefresh:   c.Provider.ExposureRefresh,
			CorruptEvaluation: c.Provider.Misbehave == config.MisbehaveCorruptEvaluation,
		}
		cfg.SourceRefresh = map[string]time.Duration{}
		for i := range c.Provider.Sources {
			s := &c.Provider.Sources[i]
			var db lists.Querier
			if s.Kind == config.KindPostgres {
				dsn, err := s.ConnString()
				if err != nil {
					return cfg, err
				}
				db = pgQuerier{dsn: dsn}
			}
			src, err := s.Open(db, norm)
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
	}
	return cfg, nil
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
